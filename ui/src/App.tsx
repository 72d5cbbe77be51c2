// Routes of the UI. The project and dashboard lists are in the first download; every other page
// (the dashboard view with the Perses packages above all) is loaded when it is opened. Every page
// but the login page and a share link's view needs a session when the server asks for logins.
import { Suspense, lazy } from 'react';
import { RouterProvider, createBrowserRouter } from 'react-router-dom';
import { setNavigator } from './api/session';
import { FleetGate } from './fleet/FleetGate';
import { Layout, PageLoading } from './components/Layout';
import { RequireSession, SessionProvider } from './components/Session';
import LoginPage from './pages/LoginPage';
import DashboardsPage from './pages/DashboardsPage';
import ProjectsPage from './pages/ProjectsPage';
import { ColorModeProvider } from './theme/colorMode';

const DashboardPage = lazy(() => import('./pages/DashboardPage'));
const HistoryPage = lazy(() => import('./pages/HistoryPage'));
const TrashPage = lazy(() => import('./pages/TrashPage'));
const DatasourcesPage = lazy(() => import('./pages/DatasourcesPage'));
const ImportPage = lazy(() => import('./pages/ImportPage'));
const NotFoundPage = lazy(() => import('./pages/NotFoundPage'));
const SharedDashboardPage = lazy(() => import('./pages/SharedDashboardPage'));
const PreferencesPage = lazy(() => import('./pages/PreferencesPage'));
const AuditPage = lazy(() => import('./pages/AuditPage'));
const RolesPage = lazy(() => import('./pages/RolesPage'));
const ExplorePage = lazy(() => import('./pages/ExplorePage'));
const FleetPage = lazy(() => import('./pages/FleetPage'));
const FleetOverviewPage = lazy(() => import('./pages/FleetOverviewPage'));
const FleetAlertsPage = lazy(() => import('./pages/FleetAlertsPage'));
const FleetGpusPage = lazy(() => import('./pages/FleetGpusPage'));
const TemplatesPage = lazy(() => import('./pages/TemplatesPage'));
const TemplatePage = lazy(() => import('./pages/TemplatePage'));
const ServicesPage = lazy(() => import('./pages/ServicesPage'));
const ServicePage = lazy(() => import('./pages/ServicePage'));
const AssistantPage = lazy(() => import('./assistant/AssistantPage'));

// A data router, because the Perses editor blocks navigation away from unsaved edits (useBlocker).
const router = createBrowserRouter([
  { path: '/login', element: <LoginPage /> },
  // A share link needs no login: it is its own credential, for this one dashboard.
  {
    path: '/shared/:token',
    element: (
      <Suspense fallback={<PageLoading />}>
        <SharedDashboardPage />
      </Suspense>
    ),
  },
  {
    element: (
      <RequireSession>
        <Layout />
      </RequireSession>
    ),
    children: [
      { path: '/', element: <ProjectsPage /> },
      { path: '/projects/:project', element: <DashboardsPage /> },
      { path: '/projects/:project/dashboards/:dashboard', element: <DashboardPage /> },
      { path: '/projects/:project/dashboards/:dashboard/history', element: <HistoryPage /> },
      { path: '/projects/:project/trash', element: <TrashPage /> },
      { path: '/projects/:project/datasources', element: <DatasourcesPage scope="project" /> },
      { path: '/projects/:project/roles', element: <RolesPage /> },
      { path: '/admin/datasources', element: <DatasourcesPage scope="global" /> },
      { path: '/templates', element: <TemplatesPage /> },
      { path: '/templates/:id', element: <TemplatePage /> },
      { path: '/import', element: <ImportPage /> },
      { path: '/preferences', element: <PreferencesPage /> },
      { path: '/audit', element: <AuditPage /> },
      { path: '/explore', element: <ExplorePage /> },
      { path: '/fleet', element: <FleetGate title="Fleet overview"><FleetOverviewPage /></FleetGate> },
      { path: '/fleet/clusters', element: <FleetGate title="Clusters"><FleetPage /></FleetGate> },
      { path: '/fleet/alerts', element: <FleetGate title="Alerts"><FleetAlertsPage /></FleetGate> },
      { path: '/fleet/gpus', element: <FleetGate title="GPUs"><FleetGpusPage /></FleetGate> },
      { path: '/services', element: <ServicesPage /> },
      { path: '/services/:id', element: <ServicePage /> },
      // One route (an optional id): opening a session keeps the page and its state.
      { path: '/assistant/:id?', element: <AssistantPage /> },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
]);

// A lost session leads to the login page without reloading the app (replacing the page that
// needed the session, so Back does not return to it only to be sent away again).
setNavigator((path) => router.navigate(path, { replace: true }));

export function App() {
  return (
    <ColorModeProvider>
      <SessionProvider>
        <RouterProvider router={router} />
      </SessionProvider>
    </ColorModeProvider>
  );
}
