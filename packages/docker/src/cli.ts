// diyc: docker's command line over the diyc runtime core. Each command takes docker's
// flags and prints what docker prints, so that `alias docker=diyc` works for the commands
// listed here; the containers are diyc-run's (one state root), so diyc-ps lists them too.
import { defineCli } from '@diyc/cli';
import { inspectCommand, imagesCommand, psCommand, pullCommand } from './commands/list.js';
import {
  execCommand,
  killCommand,
  logsCommand,
  portCommand,
  renameCommand,
  rmCommand,
  stopCommand,
  waitCommand,
} from './commands/manage.js';
import { createCommand, EXIT_RUNTIME, runCommand, startCommand } from './commands/run.js';
import { pauseCommand, restartCommand, statsCommand, topCommand, unpauseCommand } from './commands/control.js';
import { infoCommand, versionCommand } from './commands/system.js';
import { networkCommand } from './commands/network.js';
import { containerPruneCommand, imagePruneCommand, systemPruneCommand } from './commands/prune.js';
import { rmiCommand, tagCommand } from './commands/tags.js';
import { volumeCommand } from './commands/volume.js';
import { cpCommand, loadCommand, saveCommand } from './commands/files.js';

/** The command tree; `script` is the bin's path, for the exit command a detached container's shim runs. */
export function diycCommand(script: string = process.argv[1] ?? 'diyc') {
  return defineCli({
    meta: {
      name: 'diyc',
      description: "Run and manage containers with docker's commands, flags and output, without a daemon (alias docker=diyc)",
    },
    // docker's codes: 1 when a command fails, 125 for a bad flag or operand (run, create and
    // exec give 125 for any failure of their own, their command's codes staying free).
    failureCode: 1,
    usageCode: EXIT_RUNTIME,
    subCommands: {
      run: runCommand(script),
      create: createCommand,
      start: startCommand(script),
      stop: stopCommand,
      restart: restartCommand(script),
      kill: killCommand,
      rm: rmCommand,
      rename: renameCommand,
      exec: execCommand,
      logs: logsCommand,
      wait: waitCommand,
      pause: pauseCommand,
      unpause: unpauseCommand,
      top: topCommand,
      stats: statsCommand,
      port: portCommand,
      ps: psCommand,
      images: imagesCommand,
      pull: pullCommand,
      rmi: rmiCommand,
      tag: tagCommand,
      cp: cpCommand,
      save: saveCommand,
      load: loadCommand,
      inspect: inspectCommand,
      version: versionCommand,
      info: infoCommand,
      volume: volumeCommand,
      network: networkCommand,
      // docker's management commands, for the verbs above that people type in this form too.
      container: defineCli({
        meta: { name: 'container', description: 'Manage containers: ls, rm, inspect, prune (and the verbs above)' },
        subCommands: { ls: psCommand, rm: rmCommand, inspect: inspectCommand, prune: containerPruneCommand },
      }),
      image: defineCli({
        meta: { name: 'image', description: 'Manage images: ls, rm, pull, tag, inspect, prune' },
        subCommands: {
          ls: imagesCommand,
          rm: rmiCommand,
          pull: pullCommand,
          tag: tagCommand,
          inspect: inspectCommand,
          prune: imagePruneCommand,
        },
      }),
      system: defineCli({
        meta: { name: 'system', description: 'prune what nothing uses; info' },
        subCommands: { prune: systemPruneCommand, info: infoCommand },
      }),
    },
  });
}
