// Inside the VM with systemd as PID 1 (tools/vm/guest-systemd.sh): the systemd cgroup
// driver's create / apply / place / update / remove, checked with systemctl show and in
// the scope's own cgroup files.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createSystemdManager, placeProcess, resourcesFromFlags } from '@diyc/cgroup';

let failed = 0;
const check = (what, ok, detail = '') => {
  console.log(`${ok ? 'ok' : 'FAIL'} ${what}${detail ? `: ${detail}` : ''}`);
  if (!ok) failed++;
};
const show = (unit, props) =>
  Object.fromEntries(
    execFileSync('systemctl', ['show', unit, '-p', props.join(',')], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
const file = (name) => readFileSync(`/sys/fs/cgroup/system.slice/diyc-vmbox.scope/${name}`, 'utf8').trim();

const path = 'system.slice:diyc:vmbox';
const unit = 'diyc-vmbox.scope';
const manager = createSystemdManager();
const resources = {
  ...resourcesFromFlags({ memory: '10M', pids: '20', cpus: '0.5' }),
  devices: [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
  ],
};
manager.create(path);
manager.apply(path, resources);
const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
const record = { linux: { cgroupsPath: path, namespaces: [] }, annotations: {} };
let started = Date.now();
placeProcess(record, sleeper.pid, manager);
console.log(`placed pid ${sleeper.pid} in ${unit} in ${Date.now() - started} ms (D-Bus worker and StartTransientUnit included)`);

const props = show(unit, [
  'ActiveState',
  'Slice',
  'ControlGroup',
  'Delegate',
  'DefaultDependencies',
  'MemoryMax',
  'TasksMax',
  'CPUQuotaPerSecUSec',
  'CPUQuotaPeriodUSec',
  'MemoryAccounting',
  'TasksAccounting',
]);
console.log(`systemctl show ${unit}: ${JSON.stringify(props)}`);
check(
  'the scope is active in system.slice, delegated, without default dependencies',
  props.ActiveState === 'active' && props.Slice === 'system.slice' && props.Delegate === 'yes' && props.DefaultDependencies === 'no',
);
check(
  'systemd keeps the limits: MemoryMax, TasksMax, CPUQuota',
  props.MemoryMax === String(10 * 1024 * 1024) && props.TasksMax === '20' && props.CPUQuotaPerSecUSec === '500ms',
);
check('its cgroup is /system.slice/diyc-vmbox.scope', props.ControlGroup === '/system.slice/diyc-vmbox.scope');
check('the process is in it', file('cgroup.procs').split('\n').includes(String(sleeper.pid)));
check(
  'the cgroup files say the same',
  file('memory.max') === String(10 * 1024 * 1024) && file('pids.max') === '20' && file('cpu.max') === '50000 100000',
);
check(
  'no swap (written into the delegated cgroup)',
  !existsSync('/sys/fs/cgroup/system.slice/diyc-vmbox.scope/memory.swap.max') || file('memory.swap.max') === '0',
);
check(
  'stats read through the scope',
  manager.stats(path).memoryLimitBytes === 10 * 1024 * 1024 && manager.pids(path).includes(sleeper.pid),
);

// A second process, attached to the running scope: the device program holds it (/dev/zero is not allowed).
const probe = spawn(
  'sh',
  ['-c', 'sleep 1; head -c 1 /dev/null && echo null-ok; head -c 1 /dev/zero >/dev/null 2>&1 && echo zero-ok; true'],
  { stdio: ['ignore', 'pipe', 'ignore'] },
);
manager.add(path, probe.pid);
let output = '';
probe.stdout.on('data', (d) => {
  output += d;
});
await new Promise((r) => probe.on('exit', r));
check('a process attached later is held by the device rules (BPF)', output === 'null-ok\n', JSON.stringify(output));

// update: new limits on the running unit (SetUnitProperties) and in its files.
manager.apply(path, { pids: { limit: 30 } });
check('update sets TasksMax on the running unit', show(unit, ['TasksMax']).TasksMax === '30' && file('pids.max') === '30');

manager.freeze(path, true);
check('freeze', manager.frozen(path));
manager.freeze(path, false);

started = Date.now();
manager.remove(path, { force: true });
console.log(`removed ${unit} in ${Date.now() - started} ms`);
const after = show(unit, ['LoadState', 'ActiveState']);
check(
  'remove stops the scope, and systemd forgets it',
  after.ActiveState === 'inactive' && ['not-found', 'loaded'].includes(after.LoadState),
  JSON.stringify(after),
);
check('its cgroup is gone', !existsSync('/sys/fs/cgroup/system.slice/diyc-vmbox.scope'));
await new Promise((r) => (sleeper.exitCode !== null || sleeper.signalCode !== null ? r() : sleeper.on('exit', r)));
check('its process was killed with it', sleeper.signalCode !== null, String(sleeper.signalCode));
console.log(`-- systemd driver: ${failed === 0 ? 'passed' : `${failed} FAILED`}`);
process.exit(failed === 0 ? 0 : 1);
