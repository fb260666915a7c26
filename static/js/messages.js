// The server's validation errors in a learner's words. FastAPI answers a bad request with a
// list of {loc, type, msg, ctx}; the page shows "Learning rate must be more than 0", naming
// the field by the label the page already gives it (a <label for="f-<field>">), not
// "learning_rate: Input should be greater than 0".

/** The page's own name for a request field: its form label, else the field in words. */
export function fieldLabel(field) {
  const el = document.querySelector(`label[for="f-${CSS.escape(field)}"]`);
  const text = el ? el.textContent.trim() : String(field).replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

const RULES = {
  greater_than: (c) => `must be more than ${c.gt}`,
  greater_than_equal: (c) => `must be at least ${c.ge}`,
  less_than: (c) => `must be less than ${c.lt}`,
  less_than_equal: (c) => `must be at most ${c.le}`,
  int_parsing: () => "must be a whole number",
  int_from_float: () => "must be a whole number",
  int_type: () => "must be a whole number",
  float_parsing: () => "must be a number",
  float_type: () => "must be a number",
  finite_number: () => "must be a finite number",
  missing: () => "is needed",
  literal_error: (c) => `must be one of ${c.expected}`,
  enum: (c) => `must be one of ${c.expected}`,
  too_short: (c) => `needs at least ${c.min_length}`,
  too_long: (c) => `can have at most ${c.max_length}`,
  string_too_long: (c) => `can be at most ${c.max_length} characters`,
  list_type: () => "must be a list",
  bool_parsing: () => "must be on or off",
};

/** One validation error as a sentence about its field, e.g. "Learning rate must be more than 0". */
export function friendly(e, field) {
  const rule = RULES[e.type];
  const what = field ? fieldLabel(field) : "The request";
  // The server leaves `ctx` out of its answers (app/api/errors.py): the bound is then the
  // last number of its message ("…greater than 0"); a rule still missing a value falls
  // through to the server's own words.
  const said = rule ? rule(e.ctx || boundOf(e.msg)) : null;
  if (said && !said.includes("undefined")) return `${what} ${said}.`;
  // An unknown kind of error: the server's words, with "Value error, " and the like dropped.
  const msg = String(e.msg || "is not valid").replace(/^(Value|Assertion) error,\s*/i, "");
  return field ? `${what}: ${msg.charAt(0).toLowerCase()}${msg.slice(1)}` : msg;
}

/** A message's bound as every bound key ("String should have at most 40 characters" → 40). */
function boundOf(msg) {
  const m = /(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)(?!.*\d)/i.exec(String(msg || ""));
  const v = m ? m[1] : undefined;
  return { gt: v, ge: v, lt: v, le: v, min_length: v, max_length: v };
}
