// A code editor: Debian's CodeMirror 5 when the server has it (loaded before this module), a plain text
// area otherwise. Either way the control is named by `label` for assistive technology.
import { h } from './dom.js';

const MODES = {
  javascript: { name: 'javascript' },
  typescript: { name: 'javascript', typescript: true },
  json: { name: 'javascript', json: true },
};

/** `{element, value(), setValue(text), setLanguage(l), setReadOnly(flag), markError(line, column), clearError(), focus()}`. */
export function createEditor({ label, value = '', language = 'javascript', short = false, readOnly = false }) {
  const textarea = h('textarea', {
    class: `code${short ? ' short' : ''}`, 'aria-label': label, spellcheck: 'false', autocomplete: 'off',
    autocapitalize: 'off', readOnly, value,
  });
  const element = h('div', { class: `editor${short ? ' short' : ''}` }, textarea);
  const CodeMirror = window.CodeMirror;
  if (!CodeMirror) return textareaEditor(element, textarea);

  const editor = CodeMirror.fromTextArea(textarea, {
    mode: MODES[language] ?? MODES.javascript, lineNumbers: true, matchBrackets: true, indentUnit: 2, tabSize: 2,
    readOnly, viewportMargin: Infinity, screenReaderLabel: label,
  });
  // The hidden original stays in the page for forms: only CodeMirror's input carries the name.
  textarea.removeAttribute('aria-label');
  editor.getInputField().setAttribute('aria-label', label);
  // CodeMirror measures itself: once the element is in the page, measure again.
  requestAnimationFrame(() => editor.refresh());
  let errorLine = null;
  return {
    element,
    value: () => editor.getValue(),
    setValue: (text) => editor.setValue(text),
    setLanguage: (name) => editor.setOption('mode', MODES[name] ?? MODES.javascript),
    setReadOnly: (flag) => editor.setOption('readOnly', flag),
    markError(line, column) {
      this.clearError();
      errorLine = editor.addLineClass(Math.max(0, line - 1), 'background', 'cm-error-line');
      editor.setCursor({ line: Math.max(0, line - 1), ch: Math.max(0, (column ?? 1) - 1) });
    },
    clearError() {
      if (errorLine) editor.removeLineClass(errorLine, 'background', 'cm-error-line');
      errorLine = null;
    },
    focus: () => editor.focus(),
  };
}

function textareaEditor(element, textarea) {
  textarea.addEventListener('keydown', (event) => {
    // Tab indents, as in a code editor; Escape then Tab leaves the field.
    if (event.key !== 'Tab' || event.shiftKey || textarea.dataset.escaped) { delete textarea.dataset.escaped; return; }
    event.preventDefault();
    textarea.setRangeText('  ', textarea.selectionStart, textarea.selectionEnd, 'end');
  });
  textarea.addEventListener('keyup', (event) => { if (event.key === 'Escape') textarea.dataset.escaped = '1'; });
  return {
    element,
    value: () => textarea.value,
    setValue: (text) => { textarea.value = text; },
    setLanguage: () => {},
    setReadOnly: (flag) => { textarea.readOnly = flag; },
    markError(line, column) {
      const lines = textarea.value.split('\n');
      let offset = 0;
      for (let index = 0; index < Math.min(line - 1, lines.length); index++) offset += lines[index].length + 1;
      offset += Math.max(0, (column ?? 1) - 1);
      textarea.setSelectionRange(offset, offset);
      textarea.setAttribute('aria-invalid', 'true');
    },
    clearError: () => textarea.removeAttribute('aria-invalid'),
    focus: () => textarea.focus(),
  };
}
