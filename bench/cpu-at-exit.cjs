// Preloaded with --require by bench/startup.mjs: prints this process's CPU
// time (user + system) at exit, a figure that machine load barely moves.
process.on('exit', () => {
  const c = process.cpuUsage();
  process.stderr.write(`\nopsctl-bench-cpu ${(c.user + c.system) / 1000}\n`);
});
