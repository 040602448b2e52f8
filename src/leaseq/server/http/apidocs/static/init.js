// Starts Swagger UI on the API description. No inline script (the page's CSP may forbid
// it) and no network beyond this server. When the server requires tokens, the description
// is fetched with the token this tab signed in with on the dashboard, and "Try it out"
// sends it too.

const TOKEN_KEY = "leaseq.token"; // the dashboard's (lib/api.js): one sign-in per tab

function authorize(request) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) request.headers.Authorization = `Bearer ${token}`;
  return request;
}

function note(text) {
  const p = document.getElementById("docs-note");
  p.textContent = text;
  p.hidden = false;
}

async function start() {
  const response = await fetch("openapi.json", authorize({ headers: {} }));
  if (response.status === 401) {
    note("This server requires a token. Sign in on the dashboard (/) in this tab, then reload.");
    return;
  }
  if (!response.ok) {
    note(`The API description could not be loaded: HTTP ${response.status}.`);
    return;
  }
  window.SwaggerUIBundle({
    spec: await response.json(),
    dom_id: "#ui",
    requestInterceptor: authorize,
  });
}

start();
