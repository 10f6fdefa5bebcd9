/**
 * Splits a SQL script into top-level statements. Understands -- and nested
 * block comments, '...' strings (with '' and E'\'' escapes), "identifiers" and
 * $tag$ dollar quoting. Used for `-- ghostdns:no-transaction` migrations,
 * whose statements must each run on their own (a multi-statement simple query
 * is one implicit transaction in PostgreSQL).
 */
export function splitSqlStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? n : eol + 1;
    } else if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
    } else if (c === "'") {
      const prev = i > 0 ? sql[i - 1] : '';
      const backslashEscapes = prev === 'E' || prev === 'e';
      i++;
      while (i < n) {
        if (backslashEscapes && sql[i] === '\\') i += 2;
        else if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
        else if (sql[i] === "'") {
          i++;
          break;
        } else i++;
      }
    } else if (c === '"') {
      i++;
      while (i < n) {
        if (sql[i] === '"' && sql[i + 1] === '"') i += 2;
        else if (sql[i] === '"') {
          i++;
          break;
        } else i++;
      }
    } else if (c === '$') {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      const prev = i > 0 ? (sql[i - 1] ?? '') : '';
      if (m && !/[A-Za-z0-9_]/.test(prev)) {
        const tag = m[0];
        const end = sql.indexOf(tag, i + tag.length);
        i = end === -1 ? n : end + tag.length;
      } else i++;
    } else if (c === ';') {
      pushStatement(out, sql.slice(start, i));
      i++;
      start = i;
    } else i++;
  }
  pushStatement(out, sql.slice(start));
  return out;
}

function pushStatement(out: string[], text: string): void {
  if (stripComments(text).trim() !== '') out.push(text.trim());
}

function stripComments(text: string): string {
  return text.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
}
