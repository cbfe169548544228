// Runs until someone presses the kill button.
console.log("spinning");
let n = 0;
while (true) n++;
