// Prints a token and a private key block to stdout, and a token to stderr (no SDK involved).
const token = "ghp_" + "PrintedToken0123".repeat(3).slice(0, 36);
console.log(`token: ${token}`);
console.log(
  ["-----BEGIN RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEA7x", "-----END RSA PRIVATE KEY-----"].join(
    "\n",
  ),
);
console.log("done");
console.error(`err ${token}`);
