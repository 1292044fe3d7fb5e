'use strict';
// GraphQL over WebSocket (graphql-ws, subprotocol `graphql-transport-ws`) on `ws` + Express:
// a JSON login hands out a token, which the page's client carries in `connection_init`'s
// payload; the server acknowledges only a known token.
//
//   GET  /                    the page (page.html)
//   GET  /client/graphql-ws.js   graphql-ws's browser build (window.graphqlWs)
//   POST /login               {username} → {token} (random, per login)
//   WS   /graphql             connection_init {token} → connection_ack (an unknown token
//                             closes with 4403 Forbidden); schema:
//                               type Query { me: User }  type User { name: String!, plan: String! }
//                               type Subscription { countdown(from: Int!): Int! }
//                             `countdown` yields from, from-1, ..., 1, then completes.
//
// VARIANT=changed: `me.plan` is "pro" instead of "free".

const http = require('node:http');
const path = require('node:path');
const {WebSocketServer} = require('ws');
const {useServer} = require('graphql-ws/use/ws');
const {
  GraphQLSchema, GraphQLObjectType, GraphQLString, GraphQLInt, GraphQLNonNull,
} = require('graphql');
const common = require('../common');

const options = common.parseOptions();
// The package's exports name no browser build; it lies next to dist/, in umd/.
const CLIENT_SCRIPT =
    path.join(path.dirname(require.resolve('graphql-ws')), '..', 'umd', 'graphql-ws.js');

const users = new Map();  // token → username

const User = new GraphQLObjectType({
  name: 'User',
  fields: {
    name: {type: new GraphQLNonNull(GraphQLString)},
    plan: {type: new GraphQLNonNull(GraphQLString)},
  },
});

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: {
      me: {
        type: User,
        resolve: (root, args, context) => ({name: context.user, plan: options.changed ? 'pro' : 'free'}),
      },
    },
  }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      countdown: {
        type: new GraphQLNonNull(GraphQLInt),
        args: {from: {type: new GraphQLNonNull(GraphQLInt)}},
        subscribe: async function* (root, args) {
          for (let n = args.from; n > 0; n--) {
            await new Promise((resolve) => setTimeout(resolve, 20));
            yield {countdown: n};
          }
        },
      },
    },
  }),
});

const app = common.tokenApp(__dirname, users);
app.get('/client/graphql-ws.js', (req, res) => res.type('js').sendFile(CLIENT_SCRIPT));

const server = http.createServer(app);
const wss = new WebSocketServer({server, path: '/graphql'});
const graphqlServer = useServer(
    {
      schema,
      // false closes the socket with 4403 Forbidden.
      onConnect: (ctx) => users.has(ctx.connectionParams && ctx.connectionParams.token),
      context: (ctx) => ({user: users.get(ctx.connectionParams.token)}),
    },
    wss);

common.serve(server, options.port, () => {
  graphqlServer.dispose();
  for (const client of wss.clients) client.terminate();
  wss.close();
});
