// @ts-check
/**
 * DOM helpers for the dashboard page. Data from the fleet is only ever set as text (textContent) or as a
 * validated attribute, never parsed as HTML: a hostile name shows as the characters it is.
 */

/**
 * An element with a class, text and children.
 * @param {string} tag
 * @param {{ className?: string, text?: string, title?: string }} [props]
 * @param {Node[]} [children]
 * @returns {HTMLElement}
 */
export function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  if (props.title !== undefined) node.title = props.title;
  for (const child of children) node.appendChild(child);
  return node;
}

/**
 * @param {Element} node
 * @param {string} text
 */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node;
}

/**
 * @param {number | null | undefined} v
 * @param {number} [digits]
 */
export function num(v, digits = 1) {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '—';
}

/** @param {number | null | undefined} bytes */
export function bytes(bytes) {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes)) return '—';
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

/**
 * How long ago, for people: "3 s ago", "5 min ago", "2 h ago".
 * @param {number | null | undefined} ms
 * @param {number} now
 */
export function ago(ms, now) {
  if (typeof ms !== 'number') return '—';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** @param {number} ms */
export function clock(ms) {
  return new Date(ms).toLocaleTimeString();
}
