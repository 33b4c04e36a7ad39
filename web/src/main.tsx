// One bundle for every page; the server answers index.html on each page path and the path picks the page.
import { createRoot } from 'react-dom/client';
import { useTranslation } from 'react-i18next';
import './style.css';
import './i18n/index.ts';
import { EnrolPage, ForgotPage, InvitationPage, LoginPage, ResetPage } from './auth.tsx';
import { StaffPage } from './staff.tsx';
import { PortalPage } from './portal.tsx';
import { SecurityPage } from './security.tsx';
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
  '/security': SecurityPage,
};

function NotFound() {
  const { t } = useTranslation();
  return <Page title={t('notFound.title')}><p><a href="/auth/login">{t('notFound.login')}</a></p></Page>;
}

const Current = PAGES[location.pathname.replace(/\/+$/, '') || '/'] ?? NotFound;
createRoot(document.getElementById('root')!).render(<Current />);
