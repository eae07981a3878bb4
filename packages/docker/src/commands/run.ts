// diyc run, create, start: a container made from an image and started, in the
// foreground (its stdio proxied, a pty of its own with -t) or detached under diyc-shim.
import { defineCli, writeOut } from '@diyc/cli';
import { DiycError, stateRoot } from '@diyc/record';
import { readMeta } from '../containers.js';
import { makeContainer, removeContainer, startDetached, startForeground } from '../lifecycle.js';
import { RUN_ARGS, RUN_HINTS, runRequest } from '../run-options.js';
import { debug, eachContainer, need, requireRoot, traceOf } from './common.js';

/** Exit code when diyc itself failed before the container ran, as docker's 125. */
export const EXIT_RUNTIME = 125;

export function runCommand(script: string) {
  return defineCli({
    meta: {
      name: 'run',
      description:
        "Create and run a new container from an image, pulling it when it is missing. Exit status is the container's (125: diyc failed; 126, 127: the command cannot run).",
    },
    stopAtOperand: true,
    failureCode: EXIT_RUNTIME,
    hints: RUN_HINTS,
    args: { ...RUN_ARGS, debug },
    async main({ flags, operands }) {
      const request = runRequest(flags, operands);
      requireRoot();
      const trace = traceOf(flags);
      const root = stateRoot();
      const made = await makeContainer(request, root);
      try {
        if (request.detach) {
          await startDetached(made.container, script, trace, root);
          writeOut(`${made.id}\n`);
          return 0;
        }
        return await startForeground(made.container, script, trace, { interactive: request.interactive }, root);
      } catch (err) {
        // --rm: a container that could not start goes too, as docker removes it.
        if (request.remove) await removeContainer(made.container.refresh(), { force: true, volumes: true, trace, root }).catch(() => {});
        throw err;
      }
    },
  });
}

export const createCommand = defineCli({
  meta: {
    name: 'create',
    description: 'Create a new container from an image (pulled when missing) without starting it; prints its ID. `diyc start` runs it.',
  },
  stopAtOperand: true,
  failureCode: EXIT_RUNTIME,
  hints: RUN_HINTS,
  args: { ...Object.fromEntries(Object.entries(RUN_ARGS).filter(([k]) => k !== 'detach')), debug },
  async main({ flags, operands }) {
    const request = runRequest(flags, operands);
    requireRoot();
    const made = await makeContainer(request, stateRoot());
    writeOut(`${made.id}\n`);
    return 0;
  },
});

export function startCommand(script: string) {
  return defineCli({
    meta: { name: 'start', description: 'Start stopped or created containers (in the background, or attached with -a)' },
    // Several operands, flags among them (docker rm web -f).
    manyOperands: true,
    args: {
      attach: {
        type: 'boolean',
        alias: 'a',
        description: 'run it in the foreground, its output here, and exit with its status (one container)',
      },
      interactive: { type: 'boolean', alias: 'i', description: 'with -a: your stdin is its stdin' },
      debug,
      containers: { type: 'positional', description: 'the containers: names, IDs or ID prefixes' },
    },
    async main({ flags, operands }) {
      const targets = need(operands, 'CONTAINER [CONTAINER...]', 'start');
      requireRoot();
      const trace = traceOf(flags);
      if (flags.attach === true) {
        if (targets.length > 1) throw new DiycError('usage', 'you cannot start and attach multiple containers at once');
        let code = 0;
        const failed = await eachContainer(targets, async (view) => {
          if (view.status === 'running' || view.status === 'paused')
            throw new DiycError('state', `container ${view.name} is already running`);
          code = await startForeground(view.container, script, trace, { interactive: flags.interactive === true });
          return undefined;
        });
        return failed || code;
      }
      return eachContainer(targets, async (view, text) => {
        if (view.status === 'running' || view.status === 'paused') return text;
        if (!readMeta(view.container))
          throw new DiycError('invalid', `container ${view.name} was made by diyc-run: run it again with diyc-run`);
        await startDetached(view.container, script, trace);
        return text;
      });
    },
  });
}

/** -t SECONDS: a whole number (-1: wait for ever). */
export function timeFlag(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text)) throw new DiycError('usage', `--time ${text}: give a whole number of seconds`);
  return Number(text);
}
