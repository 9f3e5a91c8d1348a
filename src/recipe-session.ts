import { InvalidArgumentError, InvalidStateError } from './errors.js';
import { rejectUnknownOptions } from './options.js';
import { Session, sessionOptionNames, sharedSession, type SessionOptions, type SessionSource } from './session.js';

/**
 * A recipe's session, made when the recipe starts: a shared Session is there from the
 * start; an own one is checked at construction (a bad connect string fails there) and opened
 * by `open()`, so constructing a recipe connects nothing, as `new LeaderElection()` does.
 */
export class RecipeSession {
  /** Whether the recipe made the session and closes it on `stop()`. */
  readonly owned: boolean;
  private current: Session | null;
  private readonly make: () => Session;

  /**
   * `own` names the recipe's own options: any other name that is not a session option is
   * refused, naming the closest valid one.
   * @throws INVALID_ARGUMENT for bad or unknown options.
   */
  constructor(options: SessionSource, own: Record<string, true>, what: string) {
    if (!options || typeof options !== 'object') throw new InvalidArgumentError(`${what} needs options with connect (e.g. '127.0.0.1:2181') or session`);
    rejectUnknownOptions(options, { ...own, ...sessionOptionNames, session: true }, what);
    const shared = sharedSession(options, { logger: true });
    this.owned = !shared;
    this.current = shared ?? null;
    if (shared) {
      this.make = () => shared;
    } else {
      const sessionOptions = Object.fromEntries(
        Object.entries(options).filter(([name]) => Object.hasOwn(sessionOptionNames, name)),
      ) as unknown as SessionOptions;
      Session.validateOptions(sessionOptions);
      this.make = () => new Session(sessionOptions);
    }
  }

  /** The session, made (and connecting) on the first call. */
  open(): Session {
    this.current ??= this.make();
    return this.current;
  }

  /** The session if there is one yet (a shared one always), else null. */
  get opened(): Session | null {
    return this.current;
  }

  /**
   * The session; `before` says what makes one.
   * @throws INVALID_STATE while an own session is not made yet.
   */
  get(what: string, before: string): Session {
    if (!this.current) throw new InvalidStateError(`the ${what} has no session before ${before}`);
    return this.current;
  }
}
