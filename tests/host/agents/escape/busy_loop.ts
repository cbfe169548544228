/** Case 16: spin forever. */
console.log("spinning");
for (;;) { /* spin */ }
