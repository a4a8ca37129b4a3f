// Partnerbook's GraphiQL: starts GraphiQL (served from this server, see app/graphiql.py)
// against the page's own /graphql, over HTTP for queries and mutations and over WebSocket
// (graphql-transport-ws) for subscriptions. A served file rather than an inline script, so
// the page's Content-Security-Policy needs no 'unsafe-inline'.
"use strict";

(function () {
  // A template, not a key: the fetcher refuses to send it (see `guarded`).
  var KEY_TEMPLATE = "Bearer pb_…";
  var HEADERS = JSON.stringify({ Authorization: KEY_TEMPLATE }, null, 2);
  var DEFAULT_QUERY = [
    "# Partnerbook's GraphQL API. Every request needs an API key: replace `pb_…` in the",
    "# Headers tab below with yours (`partnerbook keys create` prints one), then run this",
    "# query with Ctrl-Enter or the ▶ button. Subscriptions (e.g. partnerChanged) run",
    "# over WebSocket with the same key.",
    "query FirstPartners {",
    "  partners(first: 10) {",
    "    totalCount",
    "    nodes { id name }",
    "  }",
    "}",
    "",
  ].join("\n");

  var url = new URL(window.location.pathname, window.location.href);
  var subscriptionUrl = new URL(url.href);
  subscriptionUrl.protocol = url.protocol === "https:" ? "wss:" : "ws:";

  function authorization(headers) {
    if (!headers || typeof headers !== "object") return undefined;
    return headers.Authorization || headers.authorization;
  }

  function parsedAuthorization(text) {
    try {
      return authorization(JSON.parse(text || "{}"));
    } catch (error) {
      return undefined; // the Headers tab is being edited: not JSON yet
    }
  }

  // A new fetcher per key: GraphiQL fetches the schema again when its fetcher changes,
  // so the documentation and completion appear once a key is pasted.
  function fetcherFor() {
    var fetcher = GraphiQL.createFetcher({
      url: url.href,
      subscriptionUrl: subscriptionUrl.href,
      enableIncrementalDelivery: false,
    });
    return function guarded(params, options) {
      var key = authorization(options && options.headers);
      if (typeof key === "string" && key.indexOf("…") !== -1) {
        return Promise.resolve({
          errors: [
            {
              message:
                "Paste your API key into the Headers tab: " +
                '{"Authorization": "Bearer <your key>"} (it starts with pb_).',
            },
          ],
        });
      }
      return fetcher(params, options);
    };
  }

  var explorer = GraphiQLPluginExplorer.explorerPlugin();

  function PartnerbookGraphiQL() {
    var state = React.useState(KEY_TEMPLATE);
    var key = state[0];
    var setKey = state[1];
    var fetcher = React.useMemo(fetcherFor, [key]);

    function onEditHeaders(text) {
      var given = parsedAuthorization(text);
      if (typeof given === "string" && given !== key) setKey(given);
    }

    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: DEFAULT_QUERY,
      headers: HEADERS,
      onEditHeaders: onEditHeaders,
      isHeadersEditorEnabled: true,
      // A key is a secret: it stays in this tab, never in the browser's storage.
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: "headers",
      inputValueDeprecation: true,
      plugins: [explorer],
    });
  }

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(PartnerbookGraphiQL));
})();
