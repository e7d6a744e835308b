/**
 * The in-tree plugin registry (pkg/scheduler/framework/plugins/registry.go): every plugin by the
 * name profiles use. A profile naming a plugin not in here is a start-up error.
 */
import type { PluginFactory } from "../framework/interface.js";
import * as defaultbinder from "./defaultbinder/index.js";
import * as defaultpreemption from "./defaultpreemption/index.js";
import * as imagelocality from "./imagelocality/index.js";
import * as interpodaffinity from "./interpodaffinity/index.js";
import * as nodeaffinity from "./nodeaffinity/index.js";
import * as nodename from "./nodename/index.js";
import * as nodeports from "./nodeports/index.js";
import * as noderesources from "./noderesources/index.js";
import * as noderesourcesbalanced from "./noderesources-balanced/index.js";
import * as nodeunschedulable from "./nodeunschedulable/index.js";
import * as podtopologyspread from "./podtopologyspread/index.js";
import * as queuesort from "./queuesort/index.js";
import * as schedulinggates from "./schedulinggates/index.js";
import * as tainttoleration from "./tainttoleration/index.js";
import * as volumebinding from "./volumebinding/index.js";

const plugins: { Name: string; New: PluginFactory }[] = [
  schedulinggates,
  queuesort,
  nodeunschedulable,
  nodename,
  tainttoleration,
  nodeaffinity,
  nodeports,
  noderesources,
  noderesourcesbalanced,
  volumebinding,
  podtopologyspread,
  interpodaffinity,
  defaultpreemption,
  imagelocality,
  defaultbinder,
];

export function inTreeRegistry(): Map<string, PluginFactory> {
  const m = new Map<string, PluginFactory>();
  for (const p of plugins) m.set(p.Name, p.New);
  return m;
}
