// Routes of the UI. The project and dashboard lists are in the first download; every other page
// (the dashboard view with the Perses packages above all) is loaded when it is opened.
import { lazy } from 'react';
import { RouterProvider, createBrowserRouter } from 'react-router-dom';
import { Layout } from './components/Layout';
import DashboardsPage from './pages/DashboardsPage';
import ProjectsPage from './pages/ProjectsPage';
import { ColorModeProvider } from './theme/colorMode';

const DashboardPage = lazy(() => import('./pages/DashboardPage'));
const HistoryPage = lazy(() => import('./pages/HistoryPage'));
const TrashPage = lazy(() => import('./pages/TrashPage'));
const DatasourcesPage = lazy(() => import('./pages/DatasourcesPage'));
const ImportPage = lazy(() => import('./pages/ImportPage'));
const NotFoundPage = lazy(() => import('./pages/NotFoundPage'));

// A data router, because the Perses editor blocks navigation away from unsaved edits (useBlocker).
const router = createBrowserRouter([
  {
    element: <Layout />,
    children: [
      { path: '/', element: <ProjectsPage /> },
      { path: '/projects/:project', element: <DashboardsPage /> },
      { path: '/projects/:project/dashboards/:dashboard', element: <DashboardPage /> },
      { path: '/projects/:project/dashboards/:dashboard/history', element: <HistoryPage /> },
      { path: '/projects/:project/trash', element: <TrashPage /> },
      { path: '/projects/:project/datasources', element: <DatasourcesPage scope="project" /> },
      { path: '/admin/datasources', element: <DatasourcesPage scope="global" /> },
      { path: '/import', element: <ImportPage /> },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
]);

export function App() {
  return (
    <ColorModeProvider>
      <RouterProvider router={router} />
    </ColorModeProvider>
  );
}
