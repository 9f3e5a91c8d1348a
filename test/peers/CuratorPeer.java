import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.retry.RetryNTimes;

/**
 * A Curator participant for the mixed-fleet tests, a LeaderLatch (default) or a
 * LeaderSelector: one JSON line per change on stdout (started, elected with fencingToken =
 * its node's czxid, lost, stopped).
 *
 * usage: java CuratorPeer CONNECT PATH ID SESSION_TIMEOUT_MS [latch|selector]
 *
 * SIGTERM leaves the election (releasing leadership at once) and exits 0.
 */
public class CuratorPeer {
  static String id;
  static String recipe = "curator-latch";

  static synchronized void report(String event, String extra) {
    String line = "{\"ts\":" + System.currentTimeMillis() + ",\"id\":\"" + id + "\",\"event\":\"" + event + "\",\"recipe\":\"" + recipe + "\"" + extra + "}";
    System.out.println(line);
    System.out.flush();
  }

  public static void main(String[] args) throws Exception {
    String connect = args[0];
    String path = args[1];
    id = args[2];
    int sessionTimeoutMs = Integer.parseInt(args[3]);
    CuratorFramework client = CuratorFrameworkFactory.newClient(connect, sessionTimeoutMs, 15000, new RetryNTimes(Integer.MAX_VALUE, 100));
    client.start();
    if (args.length > 4 && args[4].equals("selector")) {
      recipe = "curator-selector";
      runSelector(client, path);
      return;
    }
    LeaderLatch latch = new LeaderLatch(client, path, id);
    AtomicBoolean leading = new AtomicBoolean(false);
    latch.addListener(new LeaderLatchListener() {
      @Override
      public void isLeader() {
        try {
          String ours = latch.getOurPath();
          long czxid = client.checkExists().forPath(ours).getCzxid();
          leading.set(true);
          report("elected", ",\"fencingToken\":\"" + czxid + "\",\"node\":\"" + ours.substring(path.length() + 1) + "\"");
        } catch (Exception e) {
          report("error", ",\"message\":\"" + e.getClass().getSimpleName() + "\"");
        }
      }

      @Override
      public void notLeader() {
        if (leading.getAndSet(false)) report("lost", ",\"reason\":\"not-leader\"");
      }
    });
    runUntilSigterm(client, path, leading, latch::start, latch::close);
  }

  interface Step {
    void run() throws Exception;
  }

  /**
   * Starts the participant, then on SIGTERM says it lost (before its node goes: the next leader
   * cannot be elected before this line), leaves, closes the client and says it stopped.
   */
  static void runUntilSigterm(CuratorFramework client, String path, AtomicBoolean leading, Step start, Step leave) throws Exception {
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        if (leading.getAndSet(false)) report("lost", ",\"reason\":\"stopped\"");
        leave.run();
        client.close();
        report("stopped", "");
      } catch (Exception e) {
        report("error", ",\"message\":\"" + e.getClass().getSimpleName() + "\"");
      }
      done.countDown();
    }));
    start.run();
    report("started", ",\"path\":\"" + path + "\"");
    done.await();
  }

  /** A LeaderSelector that leads until told to stop; its lock node holds our id, which finds it. */
  static void runSelector(CuratorFramework client, String path) throws Exception {
    CountDownLatch stop = new CountDownLatch(1);
    AtomicBoolean leading = new AtomicBoolean(false);
    LeaderSelector selector = new LeaderSelector(client, path, new LeaderSelectorListenerAdapter() {
      @Override
      public void takeLeadership(CuratorFramework c) throws Exception {
        long czxid = -1;
        String node = "";
        for (String child : c.getChildren().forPath(path)) {
          byte[] data = c.getData().forPath(path + "/" + child);
          // A process killed before us under the same id may have left its node for a while: ours is the newest.
          long candidate = c.checkExists().forPath(path + "/" + child).getCzxid();
          if (new String(data, "UTF-8").equals(id) && candidate > czxid) {
            czxid = candidate;
            node = child;
          }
        }
        leading.set(true);
        report("elected", ",\"fencingToken\":\"" + czxid + "\",\"node\":\"" + node + "\"");
        try {
          stop.await();
        } finally {
          // Interrupted (a suspended connection: the adapter cancels leadership) or stopping.
          if (leading.getAndSet(false)) report("lost", ",\"reason\":\"" + (stop.getCount() == 0 ? "stopped" : "interrupted") + "\"");
        }
      }
    });
    // The id is what the lock node holds (LeaderSelector's getIdBytes): unset, it writes nothing.
    selector.setId(id);
    selector.autoRequeue();
    runUntilSigterm(client, path, leading, selector::start, () -> {
      stop.countDown();
      selector.close();
    });
  }
}
