// The triggers chatfn knows (GET /v1/triggers), fetched once per page load.
import { api } from './api.js';

let known = null;

/** `[{type, blocking, summary, eventShape, exampleEvent, template}]`. */
export async function knownTriggers() {
  known ??= api('GET', ['triggers']).catch((error) => { known = null; throw error; });
  return known;
}

/** A first function for a trigger chatfn does not know. */
export function customTemplate(type) {
  return `// ${type}: a custom trigger.\n// context: eventId, attempt, secrets, emit(type, data, { key }), log(...)\nasync function handleEvent(event, context) {\n  console.log(\`${type}: \${JSON.stringify(event)}\`);\n}\n`;
}
