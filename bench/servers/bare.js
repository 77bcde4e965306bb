// @ts-check
/** The ceiling: an Express route with no authentication, answering claims of the same shape. */
import express from 'express';
import { serve } from './serve.js';

const claims = {
  sub: 'bench-user-0', name: 'bench-user-0', email: 'bench-user-0@example.com', email_verified: true,
  at_hash: 'x'.repeat(22), aud: 'bench-bare', exp: 2000000000, iat: 2000000000, iss: 'http://localhost:40000',
  nonce: 'x'.repeat(43), sid: 'x'.repeat(36), auth_time: 2000000000,
};

const app = express();
app.get('/profile', (req, res) => {
  res.json(claims);
});
serve(app);
