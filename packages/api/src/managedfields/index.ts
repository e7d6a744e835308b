/** Server-side apply and managedFields: field paths, sets, typed compare/merge, the updater. */
export { AncientChangesManager, capManagers, MaxUpdateManagers } from "./cap.js";
export { type Comparison, compare } from "./compare.js";
export {
  decodeManagers,
  encodeManagers,
  FieldManagerMaxLength,
  type ManagerEntry,
  type Managers,
  managerId,
  type Operation,
  printManager,
  validateFieldManager,
  validateManagedFields,
} from "./managers.js";
export { merge, removeItems } from "./merge.js";
export { canonicalJson, type Path, type PathElement, pathString } from "./path.js";
export { FieldSet } from "./set.js";
export { toFieldSet } from "./tofieldset.js";
export { ApplyTypeError, listTypeOf } from "./typeinfo.js";
export { applyManagers, type Conflict, ConflictError, type FieldFilter, updateManagers } from "./updater.js";
