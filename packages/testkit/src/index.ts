export { freePort, reservationDir, reservePort } from "./ports.js";
export { listeningPorts } from "./sockets.js";
export { type WaitOptions, waitFor, withDeadline } from "./wait.js";
