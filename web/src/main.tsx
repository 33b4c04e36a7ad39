// One bundle for every page; the server answers index.html on each page path and the path picks the page.
import { createRoot } from 'react-dom/client';
import './style.css';
import { EnrolPage, ForgotPage, InvitationPage, LoginPage, ResetPage } from './auth.tsx';
import { StaffPage } from './staff.tsx';
import { PortalPage } from './portal.tsx';
import { Page } from './ui.tsx';

const PAGES: Record<string, () => React.JSX.Element | null> = {
  '/': LoginPage,
  '/auth/login': LoginPage,
  '/auth/invitation': InvitationPage,
  '/auth/enrol': EnrolPage,
  '/auth/reset': ResetPage,
  '/auth/forgot': ForgotPage,
  '/staff': StaffPage,
  '/portal': PortalPage,
};

function NotFound() { return <Page title="Page introuvable"><p><a href="/auth/login">Connexion</a></p></Page>; }

const Current = PAGES[location.pathname.replace(/\/+$/, '') || '/'] ?? NotFound;
createRoot(document.getElementById('root')!).render(<Current />);
