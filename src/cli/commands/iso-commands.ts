/** The commands that read or write ISO images: build (the default), inspect, verify, devices and write (the stick). */
import type { Command } from 'commander';
import { register as registerBuild } from './build.js';
import { register as registerFleet } from './fleet.js';
import { register as registerNetboot } from './netboot.js';
import { register as registerInspect } from './inspect.js';
import { register as registerStick } from './stick.js';
import { register as registerVerify } from './verify.js';

export function registerIsoCommands(program: Command): void {
  registerBuild(program);
  registerFleet(program);
  registerNetboot(program);
  registerInspect(program);
  registerVerify(program);
  registerStick(program);
}
