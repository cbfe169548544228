/**
 * An agent that does nothing but burn a core in a busy loop: the kill switch (here its
 * `timeoutMs`) still ends it, because the host SIGKILLs its process group.
 */
console.log("spinning forever to burn the host's CPU…");
let n = 0;
while (true) n++;
