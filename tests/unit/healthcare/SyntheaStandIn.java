// A stand-in for Synthea's command line, for tests without the real jar or a network.
// It parses Synthea's options, prints progress like Synthea, and copies a real Synthea CSV
// export (-Dstandin.samples=<folder>) into <baseDirectory>/csv, keeping the first -p patients.
// -Dstandin.mode=ok|exception|hang chooses the behaviour; unknown options print the usage and
// exit 0, as Synthea does.
import java.io.*;
import java.nio.file.*;
import java.util.*;

public class SyntheaStandIn {
    public static void main(String[] args) throws Exception {
        int population = 1;
        String base = "./output";
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-p")) { population = Integer.parseInt(args[++i]); }
            else if (a.equals("-s") || a.equals("-cs") || a.equals("-r") || a.equals("-a")
                     || a.equals("-g") || a.equals("-m")) { i++; }
            else if (a.startsWith("--exporter.baseDirectory=")) { base = a.substring(25); }
            else if (a.startsWith("--")) { /* other configuration overrides */ }
            else if (a.startsWith("-")) {
                System.out.println("Usage: run_synthea [options] [state [city]]");
                System.out.println("Unrecognized option: " + a);
                return;  // Synthea exits 0 here
            }
        }
        String mode = System.getProperty("standin.mode", "ok");
        System.out.println("Scanning for modules...");
        if (mode.equals("hang")) {
            System.out.println("Running with options: population=" + population);
            System.out.flush();
            Thread.sleep(600000);
        }
        if (mode.equals("exception")) {
            System.out.println("java.lang.NullPointerException: module state was null");
            System.out.println("\tat org.mitre.synthea.engine.State.process(State.java:42)");
        }
        Path samples = Paths.get(System.getProperty("standin.samples"));
        Path csv = Paths.get(base, "csv");
        Files.createDirectories(csv);
        int dead = 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(samples, "*.csv")) {
            for (Path f : ds) {
                List<String> lines = Files.readAllLines(f);
                if (f.getFileName().toString().equals("patients.csv")) {
                    int n = Math.min(population, lines.size() - 1);
                    lines = lines.subList(0, n + 1);
                    for (int k = 1; k <= n; k++) {
                        String[] cells = lines.get(k).split(",", -1);
                        if (!cells[2].isEmpty()) dead++;
                        System.out.println(k + " -- " + cells[7] + " (" + cells[1] + ")");
                    }
                    population = n;
                }
                Files.write(csv.resolve(f.getFileName()), lines);
            }
        }
        System.out.println("Records: total=" + population + ", alive=" + (population - dead)
                           + ", dead=" + dead);
    }
}
