// PostgreSQL JDBC through the pooler with prepareThreshold=1: every PreparedStatement becomes a named server-side
// statement from its first use. Same workload and checks as the Python scripts. Run as a single-file program:
//   java -cp /usr/share/java/postgresql.jar PreparedTest.java
import java.sql.*;
import java.util.*;
import java.util.concurrent.*;

public class PreparedTest {
    public static void main(String[] args) throws Exception {
        String url = System.getenv("TUKI_JDBC_URL");
        int clients = Integer.parseInt(System.getenv().getOrDefault("CLIENTS", "50"));
        int txns = Integer.parseInt(System.getenv().getOrDefault("TXNS", "200"));
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<Future<?>> futures = new ArrayList<>();
        for (int n = 0; n < clients; n++) {
            final int client = n;
            futures.add(pool.submit(() -> { run(url, client, txns); return null; }));
        }
        List<String> errors = new ArrayList<>();
        for (int n = 0; n < clients; n++) {
            try { futures.get(n).get(300, TimeUnit.SECONDS); }
            catch (Exception e) { errors.add("client " + n + ": " + e.getCause()); }
        }
        pool.shutdownNow();
        if (!errors.isEmpty()) {
            errors.stream().limit(10).forEach(System.err::println);
            System.exit(1);
        }
        System.out.println("ok jdbc: " + (clients * txns) + " transactions");
    }

    static void run(String url, int client, int txns) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", System.getenv("PGUSER"));
        props.setProperty("password", System.getenv("PGPASSWORD"));
        props.setProperty("prepareThreshold", "1");
        try (Connection c = DriverManager.getConnection(url, props)) {
            c.setAutoCommit(false);
            try (PreparedStatement sel = c.prepareStatement("SELECT ?::int + 1, ?::text");
                 PreparedStatement upd = c.prepareStatement("UPDATE counters SET n = n + 1 WHERE client = ? RETURNING n")) {
                for (int i = 0; i < txns; i++) {
                    sel.setInt(1, i);
                    sel.setString(2, "c" + client);
                    try (ResultSet r = sel.executeQuery()) {
                        r.next();
                        if (r.getInt(1) != i + 1 || !r.getString(2).equals("c" + client))
                            throw new IllegalStateException("client " + client + " tx " + i + ": wrong row");
                    }
                    upd.setInt(1, client);
                    try (ResultSet r = upd.executeQuery()) {
                        r.next();
                        if (r.getInt(1) != i + 1)
                            throw new IllegalStateException("client " + client + " tx " + i + ": counter " + r.getInt(1));
                    }
                    c.commit();
                }
            }
        }
    }
}
