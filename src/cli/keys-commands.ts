// `cerbere keys …`, `backup`, `restore`, `doctor` commands (key lifecycle). Registered by commands.ts.
import type { CommandTable } from './command-types.ts';

export const KEYS_COMMANDS: CommandTable = {};
