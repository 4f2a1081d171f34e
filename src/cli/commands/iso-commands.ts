/** The commands that read or write ISO images: build (the default), inspect, verify. */
import type { Command } from 'commander';

export function registerIsoCommands(_program: Command): void {}
