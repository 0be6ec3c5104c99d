// Drives ODK Web Forms' engine (@getodk/xforms-engine, its public API: loadForm, createInstance,
// the node tree) for tests/xlsforms: one JSON request per line on stdin, one JSON report per line
// on stdout (protocol and statuses: tests/xlsforms/engines/__init__.py).
//
// The engine evaluates reactively and has no event stepping as JavaRosa has, so "navigating to a
// question" means finding its node by path in the live tree: a question that exists but is, or has
// an ancestor that is, not relevant is "not_relevant". Instances of uncontrolled repeats are added
// on demand; jr:count repeats are the engine's own business. A constraint is checked as Collect
// checks it: the value is set, the node's validation state read, and a refused value is put back
// to what it was before, the engine's message (default language) reported.
//
// Nothing a request does may end the process: each request and each step runs under its own
// catch, and an engine error is reported in the report's "error" field.

import { readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';

// stdout belongs to the protocol: whatever the engine or its dependencies print goes to stderr.
const protocol = process.stdout;
const toStderr = (...args) => process.stderr.write(`${args.map(String).join(' ')}\n`);
for (const name of ['log', 'info', 'debug', 'trace', 'dir']) console[name] = toStderr;

// An engine error raised outside the call that caused it (a reactive effect, a rejected promise)
// must neither end the process nor be lost: it goes into the report of the request under way.
let requestErrors = null;
const stray = (kind) => (e) => {
  toStderr(`driver: ${kind}: ${e && e.stack ? e.stack : e}`);
  if (requestErrors) requestErrors.push(`${kind}: ${describe(e)}`);
};
process.on('uncaughtException', stray('uncaught exception'));
process.on('unhandledRejection', stray('unhandled rejection'));

// The engine is written for browsers: it wants DOMParser & co as globals (jsdom's here), and its
// bundled web-tree-sitter (emscripten) reads `__dirname`, which an ES module does not have (the
// wasm itself is inlined in the bundle: nothing is read from that folder).
const { JSDOM } = await import('jsdom');
const { window } = new JSDOM('');
for (const name of ['DOMParser', 'XMLSerializer', 'Node', 'Element', 'Document', 'XMLDocument',
  'Attr', 'Text', 'NodeFilter', 'document']) {
  if (globalThis[name] === undefined) globalThis[name] = window[name];
}
globalThis.__dirname ??= process.cwd();
const { loadForm } = await import('@getodk/xforms-engine');

const QUESTION_TYPES = new Set(['input', 'select', 'upload', 'range', 'rank', 'trigger']);
const describe = (e) => (e && e.name ? `${e.name}: ${e.message}` : String(e));

// jr://instance/last-saved and any other attachment: a blank instance (as on a first fill).
const formOptions = {
  fetchFormAttachment: async () => ({
    ok: false, status: 404, text: async () => '', blob: async () => new Blob([]),
  }),
  missingResourceBehavior: 'BLANK',
};
// An upload keeps the file name the scenario gives (Collect's widgets answer with the file name).
const instanceOptions = { instanceAttachments: { fileNameFactory: ({ file }) => file?.name ?? null } };

const loaded = new Map(); // form path -> {mtime, size, result}: parsed once, instantiated per request
async function formResult(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    st = null;
  }
  if (!st || !st.isFile()) throw new Error(`no form file ${path}`);
  const hit = loaded.get(path);
  if (hit && hit.mtime === st.mtimeMs && hit.size === st.size) return hit.result;
  loaded.delete(path);
  const result = await loadForm(readFileSync(path, 'utf8'), formOptions);
  if (result.status === 'failure') throw result.error;
  loaded.set(path, { mtime: st.mtimeMs, size: st.size, result });
  return result;
}

// ---- paths -------------------------------------------------------------------------------------

const SEGMENT = /^([^[\]/]+)(?:\[(\d+)\])?$/;

/** [{name, index}] (index 1-based, or null when none is given), or null when malformed. */
function parsePath(path) {
  if (path === '') return null;
  const segs = [];
  for (const seg of path.split('/')) {
    const m = SEGMENT.exec(seg);
    if (!m) return null;
    const index = m[2] === undefined ? null : Number(m[2]);
    if (index !== null && !(index >= 1)) return null;
    segs.push({ name: m[1], index });
  }
  return segs;
}

/** The element name of a node (the last step of its reference, less any [index]). */
function nameOf(node) {
  const ref = node.currentState.reference;
  return ref.slice(ref.lastIndexOf('/') + 1).replace(/\[\d+\]$/, '');
}
const children = (node) => node.currentState.children ?? [];
const isRange = (node) => node.nodeType.startsWith('repeat-range');

/** The node and every ancestor relevant (a question in a non-relevant group is not asked). */
function relevantChain(node) {
  for (let n = node; n && n.nodeType !== 'root'; n = n.parent) {
    if (!n.currentState.relevant) return false;
  }
  return true;
}

/** The protocol's path of a node: its reference less the root element (repeat indexes kept). */
function pathOf(node, rootName) {
  return node.currentState.reference.replace(new RegExp(`^/${rootName}/`), '');
}

/** The definition under `def` whose nodeset, less the root element, is `generic` ("/a/b"). */
function findDefinition(def, generic) {
  const stack = [def];
  while (stack.length) {
    const d = stack.pop();
    if (typeof d.nodeset === 'string' && d.nodeset.replace(/^\/[^/]+/, '') === generic) return d;
    for (const c of d.children ?? []) stack.push(c);
  }
  return null;
}

/**
 * The node at `path`, adding instances of an uncontrolled, relevant repeat where the path names
 * one beyond those there (as an enumerator adds them). Returns {node} or {status, message}.
 * The convention: an index on a repeat's own segment, and only there.
 */
function locate(root, path) {
  const segs = parsePath(path);
  if (segs === null) return { status: 'no_such_question', message: 'malformed path' };
  // Only a control's path is looked for (no repeat instance is added on the way to anything else).
  const generic = `/${segs.map((s) => s.name).join('/')}`;
  const target = findDefinition(root.definition, generic);
  if (target === null || target.type !== 'leaf-node' || target.bodyElement == null) {
    return { status: 'no_such_question', message: target === null ? null : 'not a question' };
  }
  let node = root;
  for (const seg of segs) {
    const child = children(node).find((c) => nameOf(c) === seg.name);
    if (!child) return { status: 'no_such_question', message: null };
    if (!isRange(child)) {
      if (seg.index !== null) return { status: 'no_such_question', message: `${seg.name} is not a repeat` };
      node = child;
      continue;
    }
    if (seg.index === null) {
      return { status: 'no_such_question', message: `${seg.name} is a repeat: give its [index]` };
    }
    let instances = children(child);
    if (seg.index > instances.length) {
      if (child.nodeType !== 'repeat-range:uncontrolled' || !relevantChain(child)) {
        // The instance does not exist and cannot be added (the repeat is not relevant, or its
        // jr:count is lower): judged by the repeat's template, as the JavaRosa driver does (a
        // read-only control is a note, not a question).
        const isQuestion = !/^\s*true\(\)\s*$/.test(target.bind.readonly.expression ?? '');
        return {
          status: isQuestion ? 'not_relevant' : 'no_such_question',
          message: `repeat ${seg.name} has ${instances.length} instance(s)`,
        };
      }
      child.addInstances(undefined, seg.index - instances.length); // after the last one
      instances = children(child);
      if (seg.index > instances.length) return { status: 'no_such_question', message: 'repeat not added' };
    }
    node = instances[seg.index - 1];
  }
  return { node };
}

// ---- values ------------------------------------------------------------------------------------

// As Collect's widgets (and the JavaRosa driver) take typed text.
const INTEGER = /^[-+]?\d+$/;
const DECIMAL = /^[-+]?(\d+\.?\d*|\.\d+)$/;
const INT_MIN = -(2n ** 31n);
const INT_MAX = 2n ** 31n - 1n;

function validDate(v) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

/** Why `value` (trimmed) is not of the question's type, or null. */
function wrongType(valueType, value) {
  switch (valueType) {
    case 'int':
      if (!INTEGER.test(value)) return `not an integer: ${value}`;
      if (BigInt(value) < INT_MIN || BigInt(value) > INT_MAX) return `integer out of range: ${value}`;
      return null;
    case 'decimal':
      return DECIMAL.test(value) ? null : `not a decimal: ${value}`;
    case 'date':
      return validDate(value) ? null : `not a date (YYYY-MM-DD): ${value}`;
    case 'geopoint': {
      const p = value.split(/\s+/);
      if (p.length < 2 || p.length > 4 || p.some((x) => !DECIMAL.test(x))) {
        return `not a geopoint (lat lon [alt [acc]]): ${value}`;
      }
      if (Math.abs(+p[0]) > 90 || Math.abs(+p[1]) > 180 || (p.length === 4 && +p[3] < 0)) {
        return `geopoint out of range: ${value}`;
      }
      return null;
    }
    default:
      return null; // the engine's own codec decides (an empty result is invalid_value)
  }
}

/** The choice names in a select's answer ("a c"); [''] for a blank one, which names no choice. */
const names = (value) => [...new Set(value.trim().split(/\s+/))];
// Types whose text is kept as typed; the others' are trimmed, as Collect's widgets do.
const RAW_TYPES = new Set(['string', 'barcode', 'binary', 'intent']);

/** Something that puts the node's current value back (when its constraint refuses a new one). */
function snapshot(node) {
  switch (node.nodeType) {
    case 'select': {
      const prev = [...node.currentState.value];
      return () => node.selectValues(prev);
    }
    case 'rank': {
      const prev = [...node.currentState.value];
      return () => node.setValues(prev);
    }
    case 'upload':
    case 'trigger': {
      const prev = node.currentState.value;
      return () => node.setValue(prev);
    }
    default: {
      const prev = node.currentState.instanceValue;
      return () => node.setValue(prev);
    }
  }
}

/** Sets the answer as the question's widget would; `value` is non-empty and checked already. */
function setAnswer(node, value, offered) {
  switch (node.nodeType) {
    case 'select': {
      if (node.selectType === 'select1') {
        node.selectValue(value.trim());
      } else { // the widget answers in the choices' order
        const wanted = new Set(names(value));
        node.selectValues(offered.filter((n) => wanted.has(n)));
      }
      return;
    }
    case 'rank': // a ranking: in the order given
      node.setValues(names(value));
      return;
    case 'upload':
      node.setValue(new File([new Uint8Array(1)], value));
      return;
    case 'trigger':
      node.setValue(value !== 'false');
      return;
    default:
      node.setValue(RAW_TYPES.has(node.valueType) ? value : value.trim());
  }
}

/** Clears the answer, as an enumerator empties the widget. */
function clearAnswer(node) {
  switch (node.nodeType) {
    case 'select':
      node.selectValues([]);
      return;
    case 'rank':
      node.setValues([]);
      return;
    case 'upload':
      node.setValue(null);
      return;
    case 'trigger':
      node.setValue(false);
      return;
    default:
      node.setValue('');
  }
}

const isBlank = (node) => {
  const v = node.currentState.instanceValue;
  return v === undefined || v === null || v === '';
};

// The message as a Web Forms user sees it: HTML collapses the whitespace that pretty-printed
// itext (a <value> around an <output/>) carries.
function constraintMessage(node) {
  const c = node.validationState.constraint;
  if (c.valid || !c.message) return null;
  return c.message.asString.replace(/\s+/g, ' ').trim();
}

// ---- one scenario ------------------------------------------------------------------------------

function step(root, path, value, errors) {
  const rep = { path, value, status: 'no_such_question', message: null, choices: null };
  let restore = null;
  try {
    const found = locate(root, path);
    if (!found.node) {
      rep.status = found.status;
      rep.message = found.message;
      return rep;
    }
    const node = found.node;
    if (!QUESTION_TYPES.has(node.nodeType)) {
      rep.message = node.nodeType === 'note' ? 'read-only (a note), not a question'
        : `${node.nodeType}, not a question`;
      return rep; // a group, a repeat, a calculate or a note: no_such_question
    }
    if (node.currentState.readonly) {
      rep.message = 'read-only (a note), not a question';
      return rep;
    }
    if (!relevantChain(node)) {
      rep.status = 'not_relevant';
      return rep;
    }
    let offered = null;
    if (node.nodeType === 'select' || node.nodeType === 'rank') {
      offered = node.currentState.valueOptions.map((o) => o.value);
      rep.choices = offered;
    }
    if (value === '') {
      clearAnswer(node); // clearing a widget: saved without validation, as in Collect
      rep.status = 'answered';
      return rep;
    }
    if (offered !== null) {
      const wanted = node.nodeType === 'select' && node.selectType === 'select1'
        ? [value.trim()] : names(value); // select_one: one name, "a b" is none offered
      const missing = wanted.filter((n) => !offered.includes(n));
      if (missing.length) {
        rep.status = 'choice_not_offered';
        rep.message = `not offered now: ${missing.join(' ')}`;
        return rep;
      }
    } else if (node.nodeType === 'input' || node.nodeType === 'range') {
      const wrong = wrongType(node.valueType, value.trim());
      if (wrong) {
        rep.status = 'invalid_value';
        rep.message = wrong;
        return rep;
      }
    }
    restore = snapshot(node);
    setAnswer(node, value, offered);
    if (isBlank(node)) { // the engine's codec kept nothing of it (a time, a dateTime, ...)
      restore();
      rep.status = 'invalid_value';
      rep.message = `not a valid ${node.valueType}: ${value}`;
      return rep;
    }
    if (!node.validationState.constraint.valid) {
      rep.status = 'constraint';
      rep.message = constraintMessage(node); // worded while the refused value is in the instance
      restore();
      return rep;
    }
    rep.status = 'answered';
  } catch (e) {
    // An engine failure (e.g. an XPath it cannot evaluate): as Collect, which shows the error and
    // keeps nothing, the value is put back; report it and go on with the next step.
    rep.status = 'constraint';
    rep.message = describe(e);
    errors.push(`${path}: ${describe(e)}`);
    if (restore) {
      try {
        restore();
      } catch (again) {
        errors.push(`${path}: putting the value back: ${describe(again)}`);
      }
    }
  }
  return rep;
}

/** "Save as finalized": every relevant question checked, in document order. */
function finalize(root, rootName, missing, violations, errors) {
  const walk = (node) => {
    if (!relevantChain(node)) return;
    if (QUESTION_TYPES.has(node.nodeType)) {
      try {
        const v = node.validationState;
        if (!v.required.valid) missing.push(pathOf(node, rootName));
        else if (!v.constraint.valid) {
          violations.push({ path: pathOf(node, rootName), message: constraintMessage(node) });
        }
      } catch (e) {
        errors.push(`finalize ${pathOf(node, rootName)}: ${describe(e)}`);
      }
      return;
    }
    for (const c of children(node)) walk(c);
  };
  walk(root);
}

/** The instance as the engine submits it (meta/instanceID, end, ... filled in). */
async function serialise(root) {
  const payload = await root.prepareInstancePayload({ payloadType: 'monolithic' });
  const file = payload.data[0].get('xml_submission_file');
  return await file.text();
}

async function handle(line) {
  const errors = [];
  requestErrors = errors;
  const report = { steps: [], required_missing: [], constraint_violations: [], complete: false, xml: '', error: null };
  try {
    const request = JSON.parse(line);
    if (request === null || typeof request !== 'object' || Array.isArray(request)) {
      throw new Error('a request is a JSON object {"form": ..., "steps": [...]}');
    }
    if (typeof request.form !== 'string' || request.form === '') throw new Error('request has no "form"');
    if (request.steps != null && !Array.isArray(request.steps)) throw new Error('"steps" is not a list');
    const result = await formResult(request.form);
    const root = result.createInstance(instanceOptions).root;
    const rootName = root.currentState.reference.replace(/^\//, '');
    for (const raw of request.steps ?? []) {
      const [path, value] = Array.isArray(raw) ? raw : [raw];
      report.steps.push(step(root, path == null ? '' : String(path), value == null ? '' : String(value), errors));
    }
    finalize(root, rootName, report.required_missing, report.constraint_violations, errors);
    report.complete = report.required_missing.length === 0 && report.constraint_violations.length === 0;
    try {
      report.xml = await serialise(root);
    } catch (e) {
      errors.push(`serialise: ${describe(e)}`);
      report.xml = root.instanceState.instanceXML;
    }
  } catch (e) {
    errors.push(describe(e));
  }
  requestErrors = null;
  if (errors.length) report.error = errors.join('\n');
  protocol.write(`${JSON.stringify(report)}\n`);
}

// Requests one after another, in order; the process ends when stdin does.
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
let queue = Promise.resolve();
rl.on('line', (line) => {
  if (line.trim() === '') return;
  queue = queue.then(() => handle(line)).catch((e) => {
    toStderr(`driver: ${e && e.stack ? e.stack : e}`);
    protocol.write(`${JSON.stringify({ steps: [], required_missing: [], constraint_violations: [],
      complete: false, xml: '', error: `driver: ${describe(e)}` })}\n`);
  });
});
rl.on('close', () => queue.then(() => process.exit(0)));
