// Starts the vendored Swagger UI on /docs (templates/docs.html). A file, not an inline script,
// because the Content-Security-Policy allows scripts from 'self' only.
const root = document.getElementById("swagger-ui");
window.ui = window.SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  domNode: root,
  // No deep links: they put a link inside each operation's toggle button (nested controls,
  // which keyboard and screen-reader users cannot reach on their own).
  deepLinking: false,
  layout: "BaseLayout",
  presets: [window.SwaggerUIBundle.presets.apis],
  // The default validator badge would ask validator.swagger.io about the schema.
  validatorUrl: null,
});
