/** A well-behaved agent: proves the host still runs agents after an escape attempt. */
console.log("trivial agent alive");
