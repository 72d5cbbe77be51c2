import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { dashboardOfPath, startEarlyLoads } from './api/early';
import { shareNumberFormatters } from './perses/formatterCache';

startEarlyLoads(window.location.pathname);
if (dashboardOfPath(window.location.pathname) !== undefined) {
  // The dashboard page's code (and the Perses packages it draws with) is fetched and evaluated
  // while the API calls above are in flight, instead of after them.
  void import('./pages/DashboardPage');
  void import('./perses/PersesDashboard');
}
shareNumberFormatters();

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
