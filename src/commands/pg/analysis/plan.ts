/**
 * EXPLAIN (FORMAT JSON) output turned into a flat list of nodes with the
 * numbers an expert reads first: self time (a node's own time, children
 * subtracted, all loops counted), its share of the query, actual vs estimated
 * rows and the buffers the node itself touched.
 */

/** One node as PostgreSQL prints it in FORMAT JSON. */
export interface RawNode {
  'Node Type': string;
  Plans?: RawNode[];
  [key: string]: unknown;
}

/** The top-level object of EXPLAIN (FORMAT JSON) (the array's one element). */
export interface RawExplain {
  Plan: RawNode;
  'Planning Time'?: number;
  'Execution Time'?: number;
  Settings?: Record<string, string>;
  JIT?: { Functions?: number; Options?: Record<string, boolean>; Timing?: Record<string, number | Record<string, number>> };
  Triggers?: Array<Record<string, unknown>>;
  Planning?: Record<string, number>;
}

export interface Buffers {
  hit: number;
  read: number;
  dirtied: number;
  written: number;
  tempRead: number;
  tempWritten: number;
}

export interface PlanNode {
  /** 1-based, in tree order (depth first), stable for a given plan. */
  id: number;
  parentId?: number;
  depth: number;
  raw: RawNode;
  type: string;
  /** "Index Scan Backward using events_created_at_idx on public.events e" */
  label: string;
  relation?: string;
  schema?: string;
  alias?: string;
  index?: string;
  parentRelationship?: string;
  children: PlanNode[];
  /** Estimated rows per loop. */
  estRows: number;
  /** Actual rows per loop (undefined without ANALYZE). */
  actualRows?: number;
  loops: number;
  /** All rows the node produced over all loops (per-loop average × loops, or the Gather's exact count). */
  totalRows?: number;
  /**
   * Set when the per-loop average was printed rounded to 0 over several loops
   * (PG < 18 prints whole rows): the true total is below this, not 0.
   */
  rowsBelow?: number;
  /** Inclusive wall time over all loops, ms (parallel workers counted once). */
  totalMs?: number;
  /** Exclusive time, ms. */
  selfMs?: number;
  /** selfMs as a share of the statement's execution time, 0..1. */
  selfShare?: number;
  /** totalMs as a share of the statement's execution time, 0..1. */
  totalShare?: number;
  /** Buffers the node touched itself (children subtracted). */
  buffers: Buffers;
  /** Buffers including children, as PostgreSQL reports them. */
  buffersTotal: Buffers;
  neverExecuted: boolean;
  /** totalRows is an exact count (taken from the Gather above), not a rounded average × loops. */
  exactRows?: boolean;
  /** On the path from the root through the most expensive child at each level. */
  hot: boolean;
}

export interface Plan {
  raw: RawExplain;
  root: PlanNode;
  nodes: PlanNode[];
  analyzed: boolean;
  executionMs?: number;
  planningMs?: number;
  /** Non-default settings the planner saw (EXPLAIN SETTINGS). */
  settings: Record<string, string>;
  jit?: { functions: number; totalMs: number; timing: Record<string, number> };
  buffers: Buffers;
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function rawBuffers(n: RawNode): Buffers {
  return {
    hit: num(n['Shared Hit Blocks']),
    read: num(n['Shared Read Blocks']),
    dirtied: num(n['Shared Dirtied Blocks']),
    written: num(n['Shared Written Blocks']),
    tempRead: num(n['Temp Read Blocks']),
    tempWritten: num(n['Temp Written Blocks']),
  };
}

const zero = (): Buffers => ({ hit: 0, read: 0, dirtied: 0, written: 0, tempRead: 0, tempWritten: 0 });

function subtract(a: Buffers, bs: Buffers[]): Buffers {
  const out = { ...a };
  for (const b of bs) for (const k of Object.keys(out) as Array<keyof Buffers>) out[k] -= b[k];
  for (const k of Object.keys(out) as Array<keyof Buffers>) out[k] = Math.max(0, out[k]);
  return out;
}

export function nodeLabel(n: RawNode): string {
  let label = n['Node Type'];
  if (n['Node Type'] === 'Aggregate' && n.Strategy && n.Strategy !== 'Plain') label = `${n.Strategy === 'Hashed' ? 'Hash' : n.Strategy === 'Sorted' ? 'Group' : 'Mixed'}Aggregate`;
  if (n['Partial Mode'] === 'Partial' || n['Partial Mode'] === 'Finalize') label = `${n['Partial Mode']} ${label}`;
  if (n['Join Type'] && n['Join Type'] !== 'Inner' && /Join|Nested Loop/.test(label)) label += ` ${n['Join Type']}`;
  if (n['Parallel Aware']) label = `Parallel ${label}`;
  if (n['Scan Direction'] === 'Backward') label += ' Backward';
  if (typeof n['Index Name'] === 'string') label += ` using ${n['Index Name']}`;
  if (typeof n['Relation Name'] === 'string') {
    const rel = `${n.Schema ? `${n.Schema}.` : ''}${n['Relation Name']}`;
    label += ` on ${rel}`;
    if (typeof n.Alias === 'string' && n.Alias !== n['Relation Name']) label += ` ${n.Alias}`;
  } else if (typeof n['CTE Name'] === 'string') label += ` on ${n['CTE Name']}`;
  if (typeof n['Subplan Name'] === 'string') label = `${n['Subplan Name']}: ${label}`;
  return label;
}

/** Nodes that pass every row of their one child up unchanged (within one parallel participant). */
const ROW_PRESERVING = /^(Sort|Incremental Sort|Materialize|Result)$/;

/**
 * Nodes under a Gather print per-participant averages, and PG < 18 rounds
 * them to whole rows ("keeps 0" when each of 3 participants kept 0.33). The
 * Gather counts every row it received exactly, so the nodes feeding it
 * unchanged take that count — when it agrees with the rounded figures (a
 * LIMIT above can stop the Gather before the workers' queues are drained).
 */
function exactFromGather(gather: PlanNode): void {
  const count = (gather.actualRows ?? 0) * gather.loops;
  let cur = gather.children.length === 1 ? gather.children[0] : undefined;
  while (cur && cur.actualRows !== undefined) {
    const loose = (cur.actualRows * cur.loops) - count;
    if (Math.abs(loose) > cur.loops / 2 + 0.5) return;
    cur.totalRows = count;
    cur.exactRows = true;
    cur.rowsBelow = undefined;
    if (!ROW_PRESERVING.test(cur.type) || cur.children.length !== 1) return;
    cur = cur.children[0];
  }
}

/** "1,234", or "fewer than 2" when the rounded per-loop figure hides the true total. */
export function rowsText(n: PlanNode, fmt: (v: number) => string): string {
  return n.rowsBelow !== undefined ? `fewer than ${fmt(n.rowsBelow)}` : fmt(n.totalRows ?? 0);
}

/** Build the node list from the parsed EXPLAIN JSON (either the array or its first element). */
export function parsePlan(input: RawExplain | RawExplain[]): Plan {
  const raw = Array.isArray(input) ? input[0]! : input;
  if (!raw || typeof raw !== 'object' || !raw.Plan) throw new Error('not an EXPLAIN (FORMAT JSON) document');
  const analyzed = raw.Plan['Actual Loops'] !== undefined;
  const nodes: PlanNode[] = [];

  const build = (r: RawNode, depth: number, parent: PlanNode | undefined, participants: number): PlanNode => {
    const loops = analyzed ? num(r['Actual Loops']) : 1;
    const actualRows = analyzed ? num(r['Actual Rows']) : undefined;
    const node: PlanNode = {
      id: nodes.length + 1,
      parentId: parent?.id,
      depth,
      raw: r,
      type: r['Node Type'],
      label: nodeLabel(r),
      relation: typeof r['Relation Name'] === 'string' ? r['Relation Name'] : undefined,
      schema: typeof r.Schema === 'string' ? r.Schema : undefined,
      alias: typeof r.Alias === 'string' ? r.Alias : undefined,
      index: typeof r['Index Name'] === 'string' ? r['Index Name'] : undefined,
      parentRelationship: typeof r['Parent Relationship'] === 'string' ? r['Parent Relationship'] : undefined,
      children: [],
      estRows: num(r['Plan Rows']),
      actualRows,
      loops,
      totalRows: actualRows === undefined ? undefined : Math.round(actualRows * loops),
      buffers: zero(),
      buffersTotal: rawBuffers(r),
      neverExecuted: analyzed && loops === 0,
      hot: false,
    };
    if (analyzed) {
      // Under Gather, each worker is a loop running at the same time as the
      // others: the average per loop is the wall time.
      const perLoop = num(r['Actual Total Time']);
      node.totalMs = participants > 1 ? (perLoop * loops) / participants : perLoop * loops;
    }
    nodes.push(node);
    const launched = /^Gather/.test(r['Node Type']) ? num(r['Workers Launched']) + 1 : participants;
    node.children = (r.Plans ?? []).map((c) => build(c, depth + 1, node, launched));
    node.buffers = subtract(node.buffersTotal, node.children.map((c) => c.buffersTotal));
    if (analyzed && /^Gather/.test(r['Node Type'])) exactFromGather(node);
    if (analyzed && node.actualRows === 0 && node.loops > 1 && node.rowsBelow === undefined && Math.ceil(node.loops / 2) > 1 && !node.exactRows) node.rowsBelow = Math.ceil(node.loops / 2);
    if (analyzed) node.selfMs = Math.max(0, node.totalMs! - node.children.reduce((s, c) => s + (c.totalMs ?? 0), 0));
    return node;
  };

  const root = build(raw.Plan, 0, undefined, 1);
  const executionMs = typeof raw['Execution Time'] === 'number' ? raw['Execution Time'] : undefined;
  const total = executionMs ?? root.totalMs;
  if (analyzed && total && total > 0) {
    for (const n of nodes) {
      n.selfShare = Math.min(1, (n.selfMs ?? 0) / total);
      n.totalShare = Math.min(1, (n.totalMs ?? 0) / total);
    }
    // The hottest path: follow the child that took longest at each level.
    let cur: PlanNode | undefined = root;
    while (cur) {
      cur.hot = true;
      cur = cur.children.reduce<PlanNode | undefined>((best, c) => ((c.totalMs ?? 0) > (best?.totalMs ?? -1) ? c : best), undefined);
    }
  }
  let jit: Plan['jit'];
  if (raw.JIT) {
    const timing: Record<string, number> = {};
    for (const [k, v] of Object.entries(raw.JIT.Timing ?? {})) timing[k] = typeof v === 'number' ? v : num((v as Record<string, number>).Total);
    jit = { functions: num(raw.JIT.Functions), totalMs: timing.Total ?? 0, timing };
  }
  return {
    raw,
    root,
    nodes,
    analyzed,
    executionMs,
    planningMs: typeof raw['Planning Time'] === 'number' ? raw['Planning Time'] : undefined,
    settings: raw.Settings ?? {},
    jit,
    buffers: root.buffersTotal,
  };
}

export function ancestors(plan: Plan, node: PlanNode): PlanNode[] {
  const out: PlanNode[] = [];
  let cur = node.parentId ? plan.nodes[node.parentId - 1] : undefined;
  while (cur) {
    out.push(cur);
    cur = cur.parentId ? plan.nodes[cur.parentId - 1] : undefined;
  }
  return out;
}

export const BLOCK_BYTES = 8192;
