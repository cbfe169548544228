// Announces itself, then spins without ever touching a permission.
console.log("spinning");
let n = 0;
while (true) n++;
