export { freePort, reservationDir, reservePort } from "./ports.js";
export { type WaitOptions, waitFor, withDeadline } from "./wait.js";
