/** Says BUSY, then spins on the CPU until killed (the CPU quota's test). */
console.log("BUSY");
let x = 0;
while (true) x = (x + 1) % 1_000_003;
