/**
 * The egress proxy's certificate authority: one per host (made in memory the first time an
 * agent needs it, never written anywhere), and leaf certificates per server name, issued on
 * first use and cached. Only the agent processes trust it (the host gives them its certificate
 * alone, by `--cert` and NODE_EXTRA_CA_CERTS); its private key never leaves the host process.
 * ECDSA P-256 on WebCrypto, with `@peculiar/x509` to write the certificates (pinned in
 * deno.json; it needs the `reflect-metadata` polyfill).
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(crypto);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY = 86_400_000;
/** Leaf certificates kept per CA (a bounded cache: the oldest name is dropped). */
const MAX_LEAVES = 1024;

/** A leaf certificate and its key, both PEM. */
export interface Leaf {
  cert: string;
  key: string;
}

/** A host's egress CA: its certificate (PEM) and the leaf of a server name. */
export interface EgressCa {
  /** The CA certificate the agents trust. */
  readonly certPem: string;
  /** A certificate for `name` (a DNS name or an IP address), signed by the CA. */
  leaf(name: string): Promise<Leaf>;
}

function serial(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[0] &= 0x7f; // positive
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Make a new CA (valid from a day ago, for a year). */
export async function createEgressCa(now = Date.now()): Promise<EgressCa> {
  const keys = await crypto.subtle.generateKey(ALG, false, ["sign", "verify"]) as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=Warden egress CA ${serial().slice(0, 8)}, O=Warden`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 365 * DAY),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  // One leaf key for every name (signing a certificate is cheap; making keys is not).
  const leafKeys = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]) as CryptoKeyPair;
  const leafKeyPem = x509.PemConverter.encode(
    await crypto.subtle.exportKey("pkcs8", leafKeys.privateKey),
    "PRIVATE KEY",
  );
  const aki = await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey);
  const leaves = new Map<string, Promise<Leaf>>();
  const issue = async (name: string): Promise<Leaf> => {
    const ip = /^[\d.]+$/.test(name) || name.includes(":");
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${ip ? "warden-egress" : name}`,
      issuer: ca.subject,
      notBefore: new Date(now - DAY),
      notAfter: new Date(now + 90 * DAY),
      signingAlgorithm: ALG,
      publicKey: leafKeys.publicKey,
      signingKey: keys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.SubjectAlternativeNameExtension([{ type: ip ? "ip" : "dns", value: name }]),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        aki,
      ],
    });
    return { cert: cert.toString("pem"), key: leafKeyPem };
  };
  return {
    certPem: ca.toString("pem"),
    leaf(name: string): Promise<Leaf> {
      const key = name.toLowerCase();
      let got = leaves.get(key);
      if (!got) {
        if (leaves.size >= MAX_LEAVES) leaves.delete(leaves.keys().next().value!);
        got = issue(key);
        leaves.set(key, got);
        got.catch(() => leaves.delete(key));
      }
      return got;
    },
  };
}

const perHost = new WeakMap<object, Promise<EgressCa>>();

/** The CA of `host` (any object standing for one host: made once, kept while it lives). */
export function hostCa(host: object): Promise<EgressCa> {
  let ca = perHost.get(host);
  if (!ca) {
    ca = createEgressCa();
    perHost.set(host, ca);
  }
  return ca;
}
