import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.retry.ExponentialBackoffRetry;

/**
 * Graceful failover with Curator's LeaderLatch: the leader closes its latch (its node is
 * deleted) and we time until the other latch's isLeader() callback. Prints a JSON array of
 * milliseconds, one per round. Usage: CuratorFailover <connect> <path> <rounds>
 */
public class CuratorFailover {
    record Elected(LeaderLatch latch, long atNanos) {}

    public static void main(String[] args) throws Exception {
        String connect = args[0];
        String path = args[1];
        int rounds = Integer.parseInt(args[2]);
        BlockingQueue<Elected> elected = new LinkedBlockingQueue<>();
        CuratorFramework[] clients = new CuratorFramework[2];
        for (int i = 0; i < 2; i++) {
            clients[i] = CuratorFrameworkFactory.newClient(connect, 10000, 10000, new ExponentialBackoffRetry(100, 3));
            clients[i].start();
            clients[i].blockUntilConnected();
        }
        LeaderLatch[] latches = new LeaderLatch[2];
        for (int i = 0; i < 2; i++) {
            latches[i] = latch(clients[i], path, "p" + i, elected);
            latches[i].start();
            Thread.sleep(100);
        }
        Elected current = elected.poll(30, TimeUnit.SECONDS);
        List<Double> latencies = new ArrayList<>();
        for (int round = 0; round < rounds; round++) {
            int index = current.latch() == latches[0] ? 0 : 1;
            long releasedAt = System.nanoTime();
            current.latch().close();
            Elected next = elected.poll(30, TimeUnit.SECONDS);
            latencies.add((next.atNanos() - releasedAt) / 1e6);
            latches[index] = latch(clients[index], path, "p" + index, elected);
            latches[index].start();
            Thread.sleep(50);
            current = next;
        }
        for (LeaderLatch latch : latches) latch.close();
        for (CuratorFramework client : clients) client.close();
        StringBuilder json = new StringBuilder("[");
        for (int i = 0; i < latencies.size(); i++) json.append(i == 0 ? "" : ",").append(latencies.get(i));
        System.out.println(json.append("]"));
    }

    static LeaderLatch latch(CuratorFramework client, String path, String id, BlockingQueue<Elected> elected) {
        LeaderLatch latch = new LeaderLatch(client, path, id);
        latch.addListener(new LeaderLatchListener() {
            public void isLeader() { elected.add(new Elected(latch, System.nanoTime())); }
            public void notLeader() {}
        });
        return latch;
    }
}
