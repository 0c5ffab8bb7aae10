// Small DOM helpers: every string from the server is added as text, never parsed as HTML.

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** `tag` with attributes and children (strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Hides or shows `node`. */
export function show(node, visible) {
  node.hidden = !visible;
}

/** Shows `text` in `node`, or hides the node when there is none. */
export function say(node, text) {
  node.textContent = text || '';
  show(node, Boolean(text));
}

