// Starts Swagger UI on the gateway's contract. A separate file, not an
// inline script, so the page's CSP can forbid inline scripts.
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // Never send the contract to the public validator service.
    validatorUrl: null,
    persistAuthorization: false,
    tryItOutEnabled: false,
  });
})();
