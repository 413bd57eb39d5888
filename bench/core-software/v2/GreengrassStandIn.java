// STAND-IN for lib/Greengrass.jar of the AWS IoT Greengrass V2 nucleus. This is NOT AWS software: it starts
// no nucleus and talks to nobody. It is the ggp test bench's stand-in (bench/core-software/), so that ggp's
// offline V2 bundles can be installed on a device container without the real nucleus.
//
// It takes the installer's command line (GreengrassSetup):
//   java -Droot=<root> -Dlog.store=FILE -jar Greengrass.jar --init-config config.yaml \
//        --component-default-user ggc_user:ggc_group --provision false --setup-system-service true|false --start true|false
// and checks what the nucleus needs before it talks to AWS (DeviceConfiguration.validate) plus the files:
//   system.thingName, system.certificateFilePath / privateKeyPath / rootCaPath (files must exist; the certificate
//   must match the key, checked by signing and verifying with java.security), and
//   services."aws.greengrass.Nucleus".configuration awsRegion / iotDataEndpoint / iotCredEndpoint / iotRoleAlias.
// Everything it does is logged as "STAND-IN nucleus: ..." to <root>/logs/greengrass.log; it exits 1 on failure.
// Like the real installer it copies the distribution to <root>/alts/init/distro and links alts/current to it
// (what bin/loader starts), and with --start true it launches the nucleus IN THIS PROCESS: with
// --setup-system-service true the real installer hands the start to systemd and returns, without it the nucleus
// runs in the foreground until it is stopped ("Install the AWS IoT Greengrass Core software", V2 developer
// guide: --start runs the software "as a system service or in the foreground"). The stand-in's "running nucleus"
// logs that it runs, writes <root>/logs/standin-nucleus.pid and sleeps until SIGTERM/SIGINT; it connects nowhere.
// Built with `javac --release 11` by bench/core-software/make-standins; uses only the JDK.
package org.ggp.standin;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public final class GreengrassStandIn {
    static final String VERSION = "2.14.1";
    static final String NUCLEUS = "aws.greengrass.Nucleus";

    /** A failure that ends the run with exit code 1 after being logged. */
    static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;

        Failure(String message) {
            super(message);
        }
    }

    private final Path root;
    private final Path logFile;

    private GreengrassStandIn(Path root) {
        this.root = root;
        this.logFile = root.resolve("logs").resolve("greengrass.log");
    }

    public static void main(String[] args) {
        String rootProperty = System.getProperty("root");
        Path root = Paths.get(rootProperty != null ? rootProperty : System.getProperty("user.home") + "/.greengrass");
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equalsIgnoreCase("--root") || args[i].equalsIgnoreCase("-r")) {
                root = Paths.get(args[i + 1]);
            }
        }
        GreengrassStandIn standIn = new GreengrassStandIn(root.toAbsolutePath().normalize());
        try {
            standIn.run(args);
        } catch (Failure e) {
            standIn.log("ERROR", e.getMessage());
            standIn.log("ERROR", "installation failed (STAND-IN nucleus " + VERSION + ")");
            System.exit(1);
        }
    }

    private void log(String level, String message) {
        String line = Instant.now() + " [" + level + "] (main) STAND-IN nucleus: " + message;
        System.err.println(line);
        try {
            Files.createDirectories(logFile.getParent());
            Files.write(logFile, (line + "\n").getBytes(StandardCharsets.UTF_8),
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            System.err.println("STAND-IN nucleus: cannot write " + logFile + ": " + e.getMessage());
        }
    }

    private void run(String[] args) throws Failure {
        Map<String, String> opts = parseArgs(args);
        if (opts.containsKey("help")) {
            System.out.println("STAND-IN for the AWS IoT Greengrass nucleus installer " + VERSION
                    + ": -Droot=<dir> -jar Greengrass.jar --init-config <yaml> --component-default-user <user[:group]>"
                    + " --provision false --setup-system-service true|false --start true|false");
            return;
        }
        if (opts.containsKey("version")) {
            System.out.println("AWS Greengrass v" + VERSION + " (STAND-IN)");
            return;
        }
        log("INFO", "installer started with root " + root + " and arguments " + String.join(" ", args));
        if (bool(opts, "provision", false)) {
            throw new Failure("--provision true needs AWS; the stand-in only installs with --provision false and --init-config");
        }
        if (bool(opts, "deploy-dev-tools", false)) {
            throw new Failure("--deploy-dev-tools true needs --provision true, which the stand-in cannot do");
        }
        Path configPath;
        if (opts.containsKey("init-config")) {
            configPath = Paths.get(opts.get("init-config"));
        } else if (opts.containsKey("config")) {
            configPath = Paths.get(opts.get("config"));
        } else {
            configPath = root.resolve("config").resolve("config.yaml");
        }
        if (!Files.isRegularFile(configPath)) {
            throw new Failure("config file " + configPath + " does not exist");
        }
        String yaml;
        try {
            yaml = new String(Files.readAllBytes(configPath), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Failure("cannot read " + configPath + ": " + e.getMessage());
        }
        Map<String, Object> config = parseYaml(yaml, configPath);
        validate(config, configPath);

        String user = opts.getOrDefault("component-default-user", "ggc_user:ggc_group");
        if (!user.matches("[A-Za-z0-9_.][A-Za-z0-9_.-]*(:[A-Za-z0-9_.][A-Za-z0-9_.-]*)?")) {
            throw new Failure("--component-default-user '" + user + "' is not user[:group]");
        }
        log("INFO", "components would run as " + user + " (users are not created by the stand-in)");
        try {
            Files.createDirectories(root.resolve("config"));
            Files.copy(configPath, root.resolve("config").resolve("config.yaml"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new Failure("cannot write " + root.resolve("config") + ": " + e.getMessage());
        }
        log("INFO", "config copied to " + root.resolve("config").resolve("config.yaml"));
        for (String plugin : trustedPlugins(args)) {
            if (!plugin.endsWith(".jar") || !Files.isRegularFile(Paths.get(plugin))) {
                throw new Failure("--trusted-plugin " + plugin + " is not an existing .jar");
            }
            log("INFO", "would copy trusted plugin " + plugin + " to " + root.resolve("plugins/trusted"));
        }
        if (bool(opts, "setup-system-service", false)) {
            Path template = distributionDir().resolve("bin").resolve("greengrass.service.template");
            if (!Files.isRegularFile(template)) {
                throw new Failure("--setup-system-service true but " + template + " is missing from the nucleus zip");
            }
            log("INFO", "would write /etc/systemd/system/greengrass.service from " + template
                    + " and run systemctl enable/start greengrass.service (nothing written)");
        }
        boolean launcher = !opts.containsKey("init-config") && !opts.containsKey("config");
        if (!launcher) {
            useIdentityOnBench(false);
            installDistribution();
        }
        boolean service = bool(opts, "setup-system-service", false);
        if (!launcher) {
            log("INFO", "installation OK (STAND-IN nucleus " + VERSION + ")");
        }
        if (!bool(opts, "start", true)) {
            log("INFO", "--start false: set up only");
        } else if (service) {
            log("INFO", "would start greengrass.service with systemctl; the stand-in starts nothing here");
        } else {
            runInForeground();
        }
    }

    /** The installer's copy of the distribution: alts/init/distro, and alts/current -> init. */
    private void installDistribution() throws Failure {
        Path dist = distributionDir();
        Path init = root.resolve("alts").resolve("init");
        Path current = root.resolve("alts").resolve("current");
        try {
            for (String rel : new String[] {"lib/Greengrass.jar", "bin/loader", "bin/standin-identity.py"}) {
                Path from = dist.resolve(rel);
                if (!Files.isRegularFile(from)) {
                    throw new Failure(from + " is missing from the nucleus zip");
                }
                Path to = init.resolve("distro").resolve(rel);
                Files.createDirectories(to.getParent());
                Files.copy(from, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                to.toFile().setExecutable(rel.startsWith("bin/"), false);
            }
            Files.deleteIfExists(current);
            Files.createSymbolicLink(current, Paths.get("init"));
        } catch (IOException e) {
            throw new Failure("cannot install the nucleus into " + init + ": " + e.getMessage());
        }
        log("INFO", "nucleus copied to " + init.resolve("distro") + ", alts/current -> init");
    }

    /** What the real nucleus does with --start true and no system service: it runs, here, until stopped. */
    private void runInForeground() throws Failure {
        long pid = ProcessHandle.current().pid();
        Path pidFile = root.resolve("logs").resolve("standin-nucleus.pid");
        try {
            Files.createDirectories(pidFile.getParent());
            Files.write(pidFile, (pid + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new Failure("cannot write " + pidFile + ": " + e.getMessage());
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log("INFO", "nucleus stopped (pid " + pid + ")");
            try {
                Files.deleteIfExists(pidFile);
            } catch (IOException e) {
                // nothing more to do on the way out
            }
        }));
        log("INFO", "nucleus running in the foreground (pid " + pid + ")"
                + (System.getenv("GGP_BENCH_SOCKETS") == null ? "; the stand-in connects nowhere" : ""));
        try {
            useIdentityOnBench(true);
        } catch (Failure e) {
            log("ERROR", e.getMessage() + "; the nucleus keeps running, as the real one retries");
        }
        while (true) {
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** The unzipped nucleus directory: the parent of lib/ that holds this jar. */
    private static Path distributionDir() {
        try {
            Path jar = Paths.get(GreengrassStandIn.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return jar.toAbsolutePath().getParent().getParent();
        } catch (Exception e) {
            return Paths.get(".");
        }
    }

    // ---- command line (names as in GreengrassSetup; matched case-insensitively) ----

    private static final String[][] OPTIONS = {
        {"-h", "--help", "help", "flag"}, {"-v", "--version", "version", "flag"},
        {"-ar", "--aws-region", "aws-region", "value"}, {"-p", "--provision", "provision", "value"},
        {"-tn", "--thing-name", "thing-name", "value"}, {"-tgn", "--thing-group-name", "thing-group-name", "value"},
        {"-tpn", "--thing-policy-name", "thing-policy-name", "value"},
        {"-trn", "--tes-role-name", "tes-role-name", "value"},
        {"-tra", "--tes-role-alias-name", "tes-role-alias-name", "value"},
        {"-u", "--component-default-user", "component-default-user", "value"},
        {"-ss", "--setup-system-service", "setup-system-service", "value"},
        {"-d", "--deploy-dev-tools", "deploy-dev-tools", "value"}, {"-init", "--init-config", "init-config", "value"},
        {"-tp", "--trusted-plugin", "trusted-plugin", "value"}, {"-s", "--start", "start", "value"},
        {"-i", "--config", "config", "value"}, {"-es", "--env-stage", "env-stage", "value"},
        {"-r", "--root", "root", "value"},
    };

    private static String[] option(String arg) {
        for (String[] o : OPTIONS) {
            if (arg.equalsIgnoreCase(o[0]) || arg.equalsIgnoreCase(o[1])) {
                return o;
            }
        }
        return null;
    }

    private Map<String, String> parseArgs(String[] args) throws Failure {
        Map<String, String> opts = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            String[] o = option(args[i]);
            if (o == null) {
                throw new Failure("Undefined command line argument: " + args[i]);
            }
            if (o[3].equals("flag")) {
                opts.put(o[2], "true");
            } else {
                if (i + 1 >= args.length) {
                    throw new Failure("argument " + args[i] + " needs a value");
                }
                opts.put(o[2], args[++i]);
            }
        }
        return opts;
    }

    private static List<String> trustedPlugins(String[] args) {
        List<String> plugins = new ArrayList<>();
        for (int i = 0; i + 1 < args.length; i++) {
            String[] o = option(args[i]);
            if (o != null && o[2].equals("trusted-plugin")) {
                plugins.add(args[i + 1]);
            }
        }
        return plugins;
    }

    private static boolean bool(Map<String, String> opts, String name, boolean dflt) throws Failure {
        String v = opts.get(name);
        if (v == null) {
            return dflt;
        }
        if (v.equalsIgnoreCase("true")) {
            return true;
        }
        if (v.equalsIgnoreCase("false")) {
            return false;
        }
        throw new Failure("--" + name + " takes true or false, not '" + v + "'");
    }

    // ---- config.yaml ----

    private static final Pattern REGION = Pattern.compile("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$");

    private void validate(Map<String, Object> config, Path configPath) throws Failure {
        Map<String, Object> system = map(config.get("system"));
        Map<String, Object> services = map(config.get("services"));
        Map<String, Object> nucleus = map(services.get(NUCLEUS));
        Map<String, Object> conf = map(nucleus.get("configuration"));
        String thingName = required(system, "system.thingName", configPath);
        String certPath = required(system, "system.certificateFilePath", configPath);
        String keyPath = required(system, "system.privateKeyPath", configPath);
        String caPath = required(system, "system.rootCaPath", configPath);
        String prefix = "services." + NUCLEUS + ".configuration.";
        String region = required(conf, prefix + "awsRegion", configPath);
        String dataEndpoint = required(conf, prefix + "iotDataEndpoint", configPath);
        String credEndpoint = required(conf, prefix + "iotCredEndpoint", configPath);
        String roleAlias = required(conf, prefix + "iotRoleAlias", configPath);
        if (thingName.contains(":")) {
            throw new Failure("system.thingName '" + thingName + "' must not contain ':'");
        }
        if (!REGION.matcher(region).matches()) {
            throw new Failure("awsRegion '" + region + "' is not a region name");
        }
        for (String endpoint : new String[] {dataEndpoint, credEndpoint}) {
            if (endpoint.contains("amazonaws.com") && !endpoint.contains(region)) {
                throw new Failure("endpoint " + endpoint + " is not in region " + region);
            }
        }
        Object version = nucleus.get("version");
        if (version != null && !VERSION.equals(version)) {
            log("WARN", "services." + NUCLEUS + ".version is " + version + " but this nucleus is " + VERSION);
        }
        X509Certificate ca = readCertificate(existing(caPath, "system.rootCaPath"));
        X509Certificate cert = readCertificate(existing(certPath, "system.certificateFilePath"));
        PrivateKey key = readPrivateKey(existing(keyPath, "system.privateKeyPath"), cert.getPublicKey());
        if (!matches(cert.getPublicKey(), key)) {
            throw new Failure("certificate " + certPath + " does not match private key " + keyPath);
        }
        log("INFO", "config OK: thing " + thingName + ", region " + region + ", data endpoint " + dataEndpoint
                + ", credentials endpoint " + credEndpoint + ", role alias " + roleAlias);
        log("INFO", "certificate " + certPath + " (" + cert.getSubjectX500Principal() + ") matches key " + keyPath
                + "; root CA " + caPath + " (" + ca.getSubjectX500Principal() + ")");
        identity = new String[] {credEndpoint, roleAlias, thingName, certPath, keyPath, region};
    }

    /** What validate() found the core's identity to be: endpoint, alias, thing, cert, key, region. */
    private String[] identity;

    /** useIdentity when the bench's sockets are mounted (GGP_BENCH_SOCKETS); `run`: the running nucleus. */
    private void useIdentityOnBench(boolean run) throws Failure {
        String sockets = System.getenv("GGP_BENCH_SOCKETS");
        if (sockets != null && !sockets.isEmpty() && identity != null) {
            useIdentity(sockets, run);
        }
    }

    /**
     * With the bench's unix sockets mounted (GGP_BENCH_SOCKETS), what the nucleus does with its identity:
     * credentials through the role alias with its certificate, then one artifact (GGP_BENCH_ARTIFACT, an
     * s3:// URI) downloaded with them, by bin/standin-identity.py. A refusal fails the install.
     */
    private void useIdentity(String sockets, boolean run) throws Failure {
        String[] i = identity;
        List<String> cmd = new ArrayList<>(List.of("python3",
                distributionDir().resolve("bin").resolve("standin-identity.py").toString(),
                "--sockets", sockets, "--cred-endpoint", i[0], "--alias", i[1], "--thing", i[2],
                "--cert", i[3], "--key", i[4], "--region", i[5], "--root", root.toString()));
        String artifact = System.getenv("GGP_BENCH_ARTIFACT");
        if (!run && artifact != null && !artifact.isEmpty()) {
            cmd.add("--artifact");
            cmd.add(artifact);
        }
        String fail = System.getenv("GGP_BENCH_FAIL_COMPONENT");
        if (run) {
            cmd.add("--run");
            if (fail != null && !fail.isEmpty()) {
                cmd.add("--fail");
                cmd.add(fail);
            }
        }
        String output;
        int code;
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            code = p.waitFor();
        } catch (IOException | InterruptedException e) {
            throw new Failure("cannot run standin-identity.py: " + e.getMessage());
        }
        for (String line : output.split("\n")) {
            if (!line.isEmpty()) {
                log(code == 0 ? "INFO" : "ERROR", "identity: " + line);
            }
        }
        if (code != 0) {
            throw new Failure("the core could not use its identity (see the identity: lines above)");
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return o instanceof Map ? (Map<String, Object>) o : new LinkedHashMap<>();
    }

    private static String required(Map<String, Object> m, String path, Path configPath) throws Failure {
        String key = path.substring(path.lastIndexOf('.') + 1);
        Object v = m.get(key);
        if (!(v instanceof String) || ((String) v).trim().isEmpty()) {
            throw new Failure(path + " is not set in " + configPath);
        }
        return ((String) v).trim();
    }

    private static Path existing(String file, String what) throws Failure {
        Path p = Paths.get(file);
        if (!Files.isRegularFile(p)) {
            throw new Failure(what + " " + file + " does not exist");
        }
        return p;
    }

    /**
     * A small YAML reader for config.yaml: nested block mappings of scalars (plain, single- or double-quoted).
     * Block sequences, block scalars and flow collections are kept as opaque values; anchors and tags are not
     * supported. Enough to find the keys the nucleus validates.
     */
    static Map<String, Object> parseYaml(String text, Path source) throws Failure {
        Map<String, Object> top = new LinkedHashMap<>();
        List<Map<String, Object>> maps = new ArrayList<>();
        List<Integer> indents = new ArrayList<>();
        maps.add(top);
        indents.add(-1);
        String[] lines = text.split("\r?\n", -1);
        int blockIndent = -1;
        for (int n = 0; n < lines.length; n++) {
            String line = lines[n];
            String trimmed = line.trim();
            int indent = line.length() - line.replaceFirst("^ +", "").length();
            if (blockIndent >= 0) {
                if (trimmed.isEmpty() || indent > blockIndent) {
                    continue;
                }
                blockIndent = -1;
            }
            if (trimmed.isEmpty() || trimmed.startsWith("#") || trimmed.equals("---")) {
                continue;
            }
            if (line.startsWith("\t")) {
                throw new Failure(source + ":" + (n + 1) + ": tabs are not allowed for YAML indentation");
            }
            if (trimmed.startsWith("- ") || trimmed.equals("-")) {
                continue; // sequence items: not needed for validation
            }
            Matcher m = Pattern.compile("^(\"[^\"]*\"|'[^']*'|[^:#]+?)\\s*:(\\s+(.*))?$").matcher(trimmed);
            if (!m.matches()) {
                throw new Failure(source + ":" + (n + 1) + ": cannot read YAML line: " + trimmed);
            }
            String key = unquote(m.group(1));
            String rawValue = m.group(3) == null ? "" : stripComment(m.group(3)).trim();
            while (indent <= indents.get(indents.size() - 1)) {
                maps.remove(maps.size() - 1);
                indents.remove(indents.size() - 1);
            }
            Map<String, Object> parent = maps.get(maps.size() - 1);
            if (rawValue.isEmpty()) {
                Map<String, Object> child = new LinkedHashMap<>();
                parent.put(key, child);
                maps.add(child);
                indents.add(indent);
            } else if (rawValue.startsWith("|") || rawValue.startsWith(">")) {
                parent.put(key, rawValue);
                blockIndent = indent;
            } else {
                parent.put(key, unquote(rawValue));
            }
        }
        return top;
    }

    private static String stripComment(String v) {
        if (v.startsWith("\"") || v.startsWith("'")) {
            int end = v.indexOf(v.charAt(0), 1);
            return end > 0 ? v.substring(0, end + 1) : v;
        }
        int hash = v.indexOf(" #");
        return hash >= 0 ? v.substring(0, hash) : v;
    }

    private static String unquote(String v) {
        if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
            return v.substring(1, v.length() - 1).replace("\\\"", "\"").replace("\\\\", "\\");
        }
        if (v.length() >= 2 && v.startsWith("'") && v.endsWith("'")) {
            return v.substring(1, v.length() - 1).replace("''", "'");
        }
        return v.trim();
    }

    // ---- certificate and key ----

    private static X509Certificate readCertificate(Path p) throws Failure {
        try (InputStream in = Files.newInputStream(p)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        } catch (Exception e) {
            throw new Failure(p + " is not an X.509 certificate: " + e.getMessage());
        }
    }

    /**
     * Reads a PEM private key: PKCS#8 ("PRIVATE KEY"), or the traditional PKCS#1 RSA / SEC1 EC forms, which are
     * wrapped into PKCS#8 with the algorithm identifier of the certificate's public key.
     */
    private static PrivateKey readPrivateKey(Path p, PublicKey certKey) throws Failure {
        String pem;
        try {
            pem = new String(Files.readAllBytes(p), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new Failure("cannot read " + p + ": " + e.getMessage());
        }
        Matcher m = Pattern.compile("-----BEGIN ([A-Z ]+)-----([^-]+)-----END \\1-----").matcher(pem);
        if (!m.find()) {
            throw new Failure(p + " is not a PEM private key");
        }
        String type = m.group(1);
        byte[] der;
        try {
            der = Base64.getMimeDecoder().decode(m.group(2));
        } catch (IllegalArgumentException e) {
            throw new Failure(p + ": bad base64 in PEM: " + e.getMessage());
        }
        byte[] pkcs8;
        if (type.equals("PRIVATE KEY")) {
            pkcs8 = der;
        } else if (type.equals("RSA PRIVATE KEY") || type.equals("EC PRIVATE KEY")) {
            byte[] algorithmId = firstElementOfSequence(certKey.getEncoded());
            pkcs8 = sequence(concat(new byte[] {0x02, 0x01, 0x00}, algorithmId, tlv(0x04, der)));
        } else if (type.equals("ENCRYPTED PRIVATE KEY")) {
            throw new Failure(p + " is an encrypted private key; Greengrass needs an unencrypted one");
        } else {
            throw new Failure(p + " holds a PEM '" + type + "', not a private key");
        }
        try {
            return KeyFactory.getInstance(certKey.getAlgorithm()).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
        } catch (Exception e) {
            throw new Failure(p + " is not a " + certKey.getAlgorithm() + " private key that fits the certificate ("
                    + e.getMessage() + ")");
        }
    }

    private static boolean matches(PublicKey pub, PrivateKey key) throws Failure {
        String alg;
        switch (pub.getAlgorithm().toUpperCase(Locale.ROOT)) {
            case "RSA": alg = "SHA256withRSA"; break;
            case "EC": alg = "SHA256withECDSA"; break;
            case "ED25519": case "EDDSA": alg = "Ed25519"; break;
            default: throw new Failure("unsupported key algorithm " + pub.getAlgorithm());
        }
        byte[] challenge = new byte[32];
        new SecureRandom().nextBytes(challenge);
        try {
            Signature signer = Signature.getInstance(alg);
            signer.initSign(key);
            signer.update(challenge);
            byte[] sig = signer.sign();
            Signature verifier = Signature.getInstance(alg);
            verifier.initVerify(pub);
            verifier.update(challenge);
            return verifier.verify(sig);
        } catch (Exception e) {
            return false;
        }
    }

    // ---- minimal DER ----

    private static byte[] firstElementOfSequence(byte[] der) throws Failure {
        int[] outer = header(der, 0);
        int start = outer[0];
        int[] inner = header(der, start);
        int end = inner[0] + inner[1];
        byte[] out = new byte[end - start];
        System.arraycopy(der, start, out, 0, out.length);
        return out;
    }

    /** Returns {offset of content, length of content} of the TLV at pos. */
    private static int[] header(byte[] der, int pos) throws Failure {
        if (pos + 2 > der.length) {
            throw new Failure("truncated DER");
        }
        int len = der[pos + 1] & 0xff;
        int off = pos + 2;
        if (len >= 0x80) {
            int n = len & 0x7f;
            len = 0;
            for (int i = 0; i < n; i++) {
                len = (len << 8) | (der[off + i] & 0xff);
            }
            off += n;
        }
        return new int[] {off, len};
    }

    private static byte[] tlv(int tag, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(tag);
        int len = content.length;
        if (len < 0x80) {
            out.write(len);
        } else {
            int n = len > 0xffffff ? 4 : len > 0xffff ? 3 : len > 0xff ? 2 : 1;
            out.write(0x80 | n);
            for (int i = n - 1; i >= 0; i--) {
                out.write((len >>> (8 * i)) & 0xff);
            }
        }
        out.write(content, 0, content.length);
        return out.toByteArray();
    }

    private static byte[] sequence(byte[] content) {
        return tlv(0x30, content);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.write(p, 0, p.length);
        }
        return out.toByteArray();
    }
}
