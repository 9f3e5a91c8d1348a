import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.retry.RetryNTimes;

/**
 * A Curator LeaderLatch participant for the mixed-fleet tests: one JSON line per change on
 * stdout (started, elected with fencingToken = its node's czxid, lost, stopped).
 *
 * usage: java CuratorPeer CONNECT PATH ID SESSION_TIMEOUT_MS
 *
 * SIGTERM leaves the election (releasing leadership at once) and exits 0.
 */
public class CuratorPeer {
  static String id;

  static synchronized void report(String event, String extra) {
    String line = "{\"ts\":" + System.currentTimeMillis() + ",\"id\":\"" + id + "\",\"event\":\"" + event + "\",\"recipe\":\"curator-latch\"" + extra + "}";
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
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        // Say so before the node goes: the next leader cannot be elected before this line.
        if (leading.getAndSet(false)) report("lost", ",\"reason\":\"stopped\"");
        latch.close();
        client.close();
        report("stopped", "");
      } catch (Exception e) {
        report("error", ",\"message\":\"" + e.getClass().getSimpleName() + "\"");
      }
      done.countDown();
    }));
    latch.start();
    report("started", ",\"path\":\"" + path + "\"");
    done.await();
  }
}
