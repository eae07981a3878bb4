// Shared bits of the benchmarks: timing a command, peak memory, medians.
import { execFileSync, spawnSync } from 'node:child_process';

/** Runs argv to its end; returns wall milliseconds and the peak RSS in MB (getrusage of the child). */
export function measure(argv, options = {}) {
  // python's resource module reads the child's ru_maxrss: the peak resident memory.
  const script =
    'import resource,subprocess,sys,time\n' +
    't=time.perf_counter(); r=subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n' +
    'w=time.perf_counter()-t; u=resource.getrusage(resource.RUSAGE_CHILDREN)\n' +
    'print(r.returncode, w*1000, u.ru_maxrss/1024); sys.stderr.write(r.stderr.decode())';
  const r = spawnSync('python3', ['-c', script, ...argv], { encoding: 'utf8', env: options.env ?? process.env });
  const [code, ms, mb] = r.stdout.trim().split(' ').map(Number);
  if (code !== 0) throw new Error(`${argv.join(' ')} failed (${code}): ${r.stderr}`);
  return { ms, mb };
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

export function sh(script) {
  return execFileSync('sh', ['-c', script], { encoding: 'utf8' });
}

export function report(title, rows, reference) {
  console.log(`\n${title}`);
  const ref = rows.find((r) => r.name === reference);
  for (const r of rows) {
    const ratio = ref ? (r.median / ref.median).toFixed(2) : '';
    console.log(
      `  ${r.name.padEnd(44)} median ${r.median.toFixed(1).padStart(8)} ms  ${ratio ? `x${ratio}` : ''}${r.mb ? `  peak ${r.mb.toFixed(0)} MB` : ''}`,
    );
  }
}

/**
 * Runs each command in turn, round after round (A B A B ...), and returns the median wall
 * milliseconds of each: on a shared machine, drift hits every command alike, where
 * hyperfine's runs of one command after another can differ by more than what is measured.
 */
export function alternate(commands, rounds, env) {
  const times = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (let i = 0; i < rounds + 3; i++) {
    for (const [name, argv] of Object.entries(commands)) {
      const start = process.hrtime.bigint();
      const r = spawnSync(argv[0], argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
      if (i >= 3) times[name].push(Number(process.hrtime.bigint() - start) / 1e6); // three warm-up rounds
    }
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}
