// `cerbere audit …` commands (access log). Registered by commands.ts.
import type { CommandTable } from './command-types.ts';

export const AUDIT_COMMANDS: CommandTable = {};
