export type { Command, CommandIO } from "./command.js";
export { commands } from "./commands.js";
export { main, usage } from "./main.js";
