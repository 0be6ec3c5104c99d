// Drives ODK Web Forms' engine (@getodk/xforms-engine) for tests/xlsforms: one JSON request per
// line on stdin, one JSON report per line on stdout (protocol: tests/xlsforms/engines/__init__.py,
// semantics: DRIVER_BRIEF.md). The engine has no event stepping, so "navigate" finds the node by
// its path in the live node tree; repeat instances are added on demand (uncontrolled repeats only:
// jr:count repeats are the engine's own business).
import { readFileSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { JSDOM } from 'jsdom';

// The engine is written for browsers: it wants DOMParser & co as globals, and its bundled
// web-tree-sitter (emscripten) reads `__dirname`, which an ES module does not have. The wasm itself
// is inlined in the bundle, so nothing is read from that folder.
const { window } = new JSDOM('');
for (const name of ['DOMParser', 'XMLSerializer', 'Node', 'Element', 'Document', 'XMLDocument',
  'Attr', 'Text', 'NodeFilter', 'document']) {
  if (globalThis[name] === undefined) globalThis[name] = window[name];
}
globalThis.__dirname ??= process.cwd();
const { loadForm } = await import('@getodk/xforms-engine');

const QUESTION_TYPES = new Set(['input', 'select', 'upload', 'range', 'rank', 'trigger']);
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const describe = (e) => (e && e.name ? `${e.name}: ${e.message}` : String(e));

// jr://instance/last-saved and any other attachment: a blank instance (as on a first fill).
const formOptions = {
  fetchFormAttachment: async () => ({ ok: false, status: 404, text: async () => '', blob: async () => new Blob([]) }),
  missingResourceBehavior: 'BLANK',
};

const loaded = new Map(); // form path -> {mtime, size, result}
async function formResult(path) {
  const st = statSync(path);
  const hit = loaded.get(path);
  if (hit && hit.mtime === st.mtimeMs && hit.size === st.size) return hit.result;
  const result = await loadForm(readFileSync(path, 'utf8'), formOptions);
  if (result.status === 'failure') throw result.error;
  loaded.set(path, { mtime: st.mtimeMs, size: st.size, result });
  return result;
}

// ---- paths -------------------------------------------------------------------------------------

function parsePath(path) {
  return path.split('/').map((seg) => {
    const m = /^([^[\]]+)(?:\[(\d+)\])?$/.exec(seg);
    if (!m) return null;
    return { name: m[1], index: m[2] === undefined ? null : Number(m[2]) };
  });
}

const lastName = (ref) => ref.slice(ref.lastIndexOf('/') + 1).replace(/\[\d+\]$/, '');
const children = (node) => node.currentState.children ?? [];
const isRange = (node) => node.nodeType.startsWith('repeat-range');

function relevantChain(node) {
  for (let n = node; n && n.nodeType !== 'root'; n = n.parent) {
    if (!n.currentState.relevant) return false;
  }
  return true;
}

/** Report path of a node: its reference less the root element (repeat indexes kept). */
function pathOf(node, rootName) {
  return node.currentState.reference.replace(new RegExp(`^/${rootName}/`), '');
}

/**
 * Find the node at `path`, adding uncontrolled repeat instances where the path names one beyond
 * those that exist and the repeat is relevant. Returns {node} or {status, message}.
 */
function locate(root, path, addRepeats) {
  const segs = parsePath(path);
  if (segs.some((s) => s === null)) return { status: 'no_such_question', message: 'malformed path' };
  let node = root;
  for (const seg of segs) {
    const child = children(node).find((c) => lastName(c.currentState.reference) === seg.name);
    if (!child) return { status: 'no_such_question', message: null };
    if (isRange(child)) {
      const k = seg.index ?? 1;
      let instances = children(child);
      if (k > instances.length) {
        if (!relevantChain(child) || child.nodeType !== 'repeat-range:uncontrolled' || !addRepeats) {
          // The instance does not exist and cannot be added (the repeat is not relevant, or
          // jr:count is lower): judge by the repeat's template, as the JavaRosa driver does: a
          // question there is "not_relevant".
          const generic = `/${segs.map((s) => s.name).join('/')}`;
          const def = findDefinition(child.definition, generic);
          const question = def && def.bodyElement && def.bind?.readonly?.expression !== 'true()';
          return {
            status: question ? 'not_relevant' : 'no_such_question',
            message: `repeat ${seg.name} has ${instances.length} instance(s)`,
          };
        }
        child.addInstances(undefined, k - instances.length); // after the last one
        instances = children(child);
        if (k > instances.length) return { status: 'no_such_question', message: 'repeat not added' };
      }
      node = instances[k - 1];
    } else {
      if (seg.index !== null) return { status: 'no_such_question', message: `${seg.name} is not a repeat` };
      node = child;
    }
  }
  return { node };
}

/** The definition under `def` whose nodeset, less the root element, is `generic`. */
function findDefinition(def, generic) {
  const stack = [def];
  while (stack.length) {
    const d = stack.pop();
    if (typeof d.nodeset === 'string' && d.nodeset.replace(/^\/[^/]+/, '') === generic) return d;
    for (const c of d.children ?? []) stack.push(c);
  }
  return null;
}

// ---- values ------------------------------------------------------------------------------------

const NUM = { int: /^[-+]?\d+$/, decimal: /^[-+]?(\d+\.?\d*|\.\d+)$/ };

function validDate(v) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

function checkType(node, value) {
  const t = node.valueType;
  if ((t === 'int' || t === 'decimal') && !NUM[t].test(value)) return `not a${t === 'int' ? 'n integer' : ' decimal'}: ${value}`;
  if (t === 'date' && !validDate(value)) return `not a date (YYYY-MM-DD): ${value}`;
  if (t === 'geopoint') {
    const p = value.trim().split(/\s+/);
    if (p.length < 2 || p.length > 4 || p.some((x) => !NUM.decimal.test(x))
      || Math.abs(+p[0]) > 90 || Math.abs(+p[1]) > 180) return `not a geopoint (lat lon alt acc): ${value}`;
  }
  return null;
}

/** Something that puts the current value back (used when the constraint refuses a new one). */
function snapshot(node) {
  if (node.nodeType === 'select' || node.nodeType === 'rank') {
    const prev = [...node.currentState.value];
    return () => (node.nodeType === 'rank' ? node.setValues(prev) : node.selectValues(prev));
  }
  if (node.nodeType === 'upload') {
    const prev = node.currentState.value;
    return () => node.setValue(prev);
  }
  const prev = node.currentState.instanceValue;
  return () => node.setValue(prev);
}

function setAnswer(node, value) {
  switch (node.nodeType) {
    case 'select': {
      const names = value === '' ? [] : value.trim().split(/\s+/);
      if (node.selectType === 'select1') node.selectValue(names[0] ?? null);
      else node.selectValues(names);
      return;
    }
    case 'rank':
      node.setValues(value === '' ? [] : value.trim().split(/\s+/));
      return;
    case 'upload':
      node.setValue(value === '' ? null : new File([new Uint8Array(1)], value));
      return;
    case 'trigger':
      node.setValue(value !== '' && value !== 'false');
      return;
    default:
      node.setValue(value);
  }
}

const isEmpty = (node) => {
  const v = node.currentState.instanceValue;
  return v === undefined || v === null || v === '';
};

// The message as a Web Forms user sees it: HTML collapses the whitespace that the pretty-printed
// itext (<value> around an <output/>) carries.
function constraintMessage(node) {
  const c = node.validationState.constraint;
  if (c.valid || !c.message) return null;
  return c.message.asString.replace(/\s+/g, ' ').trim();
}

// ---- one scenario ------------------------------------------------------------------------------

function step(root, rootName, path, value, errors) {
  const rep = { path, value, status: 'no_such_question', message: null, choices: null };
  try {
    const found = locate(root, path, true);
    if (!found.node) {
      rep.status = found.status;
      rep.message = found.message;
      return rep;
    }
    const node = found.node;
    if (!QUESTION_TYPES.has(node.nodeType)) {
      rep.message = node.nodeType === 'note' ? 'read-only (a note), not a question'
        : `${node.nodeType}, not a question`;
      return rep;
    }
    if (!relevantChain(node)) {
      rep.status = 'not_relevant';
      return rep;
    }
    if (node.currentState.readonly) {
      rep.message = 'read-only, not a question';
      return rep;
    }
    if (node.nodeType === 'select' || node.nodeType === 'rank') {
      const offered = node.currentState.valueOptions.map((o) => o.value);
      rep.choices = offered;
      const names = value === '' ? [] : value.trim().split(/\s+/);
      const missing = names.filter((n) => !offered.includes(n));
      if (missing.length) {
        rep.status = 'choice_not_offered';
        rep.message = `not offered: ${missing.join(' ')}`;
        return rep;
      }
      if (node.nodeType === 'select' && node.selectType === 'select1' && names.length > 1) {
        rep.status = 'invalid_value';
        rep.message = 'select_one takes one name';
        return rep;
      }
    } else if (value !== '') {
      const wrong = checkType(node, value);
      if (wrong) {
        rep.status = 'invalid_value';
        rep.message = wrong;
        return rep;
      }
    }
    const restore = snapshot(node);
    setAnswer(node, value);
    if (value === '') {
      rep.status = 'answered'; // clearing: saved without validation, as in Collect
      return rep;
    }
    if (!node.validationState.constraint.valid) {
      rep.status = 'constraint';
      rep.message = constraintMessage(node);
      restore();
      return rep;
    }
    if (isEmpty(node)) {
      rep.status = 'invalid_value';
      rep.message = `engine kept no value for ${JSON.stringify(value)}`;
      return rep;
    }
    rep.status = 'answered';
  } catch (e) {
    // An engine failure (e.g. an XPath it cannot evaluate): report it, keep going.
    rep.status = 'constraint';
    rep.message = describe(e);
    errors.push(`${path}: ${describe(e)}`);
  }
  return rep;
}

function finalize(root, rootName, missing, violations, errors) {
  const walk = (node) => {
    if (!relevantChain(node)) return;
    if (QUESTION_TYPES.has(node.nodeType)) {
      try {
        const v = node.validationState;
        if (!v.required.valid) missing.push(pathOf(node, rootName));
        else if (!isEmpty(node) && !v.constraint.valid) {
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

async function serialise(root) {
  const payload = await root.prepareInstancePayload({ payloadType: 'monolithic' });
  const file = payload.data[0].get('xml_submission_file');
  return await file.text();
}

async function handle(line) {
  const errors = [];
  const report = { steps: [], required_missing: [], constraint_violations: [], complete: false, xml: '', error: null };
  try {
    const request = JSON.parse(line);
    const result = await formResult(request.form);
    const instance = result.createInstance();
    const root = instance.root;
    const rootName = root.currentState.reference.replace(/^\//, '');
    for (const [path, value] of request.steps ?? []) {
      report.steps.push(step(root, rootName, String(path), String(value), errors));
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
  if (errors.length) report.error = errors.join('\n');
  out(report);
}

// Requests one after another, in order.
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
let queue = Promise.resolve();
rl.on('line', (line) => {
  if (line.trim() === '') return;
  queue = queue.then(() => handle(line));
});
rl.on('close', () => queue.then(() => process.exit(0)));
