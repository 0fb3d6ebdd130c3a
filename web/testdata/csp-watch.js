// Test helper, loaded first as a classic script: records every
// Content-Security-Policy violation on the page for the Go test to read,
// so that a script needing inline code or eval shows up as a failure.
window.cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.cspViolations.push(`${e.effectiveDirective} refused ${e.blockedURI || '?'} at ${e.sourceFile || '?'}:${e.lineNumber}`);
});
