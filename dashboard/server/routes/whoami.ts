/**
 * `GET /api/whoami`: who the server thinks the caller is, so the UI can greet, and hide what the
 * role may not do (the server stays the authority).
 */
import { Router } from 'express';
import type { Principal } from '../../../core/http/auth.js';

export interface WhoamiResponse {
  status: 'success';
  data: Principal;
}

export function whoamiRoutes(): Router {
  const router = Router();
  router.get('/api/whoami', (_req, res) => {
    const { name, role, anonymous } = res.locals.principal as Principal;
    const body: WhoamiResponse = { status: 'success', data: { name, role, anonymous } };
    res.json(body);
  });
  return router;
}
