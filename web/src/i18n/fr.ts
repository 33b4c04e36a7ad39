// French messages: the reference language; en.ts must have exactly these keys (checked by its type).
// Plurals use i18next's suffixes (_one, _other); interpolations are {{name}}, numbers {{n, number}}.
export const fr = {
  lang: { label: 'Langue' },
  common: { loading: 'Chargement…', httpError: 'erreur {{status}}', cancel: 'Annuler', confirm: 'Confirmer' },
  nav: { label: 'Navigation', console: 'Console', security: 'Sécurité' },
  notFound: { title: 'Page introuvable', login: 'Connexion' },
  login: {
    title: 'Connexion', tenant: 'Établissement', email: 'Adresse e-mail', password: 'Mot de passe', continue: 'Continuer',
    forgot: 'Mot de passe oublié ?', mfaTitle: 'Second facteur', code: 'Code', usePasskey: 'Utiliser ma clé d’accès',
    resendCode: 'Renvoyer le code', mailCode: 'Recevoir un code par e-mail', codeSent: 'Un code a été envoyé à votre adresse e-mail.',
    signIn: 'Se connecter', restart: 'Recommencer',
    method: { totp: 'Code de l’application', recovery: 'Code de secours', passkey: 'Clé d’accès', email: 'Code reçu par e-mail' },
  },
  password: {
    mismatch: 'Les deux mots de passe diffèrent.', rules: 'Au moins 12 caractères ; les mots de passe courants sont refusés. Une phrase est une bonne idée.',
    new: 'Nouveau mot de passe', again: 'Confirmation',
  },
  enrol: {
    title: 'Second facteur', incomplete: 'Ce lien d’enrôlement est incomplet.', qr: 'QR code à scanner',
    recoveryTitle: 'Codes de secours', recoveryNotice: 'Ils ne seront plus affichés : notez-les et gardez-les hors ligne. Chacun sert une seule fois.',
    appTitle: 'Application d’authentification', scan: 'Scannez ce code avec votre application (FreeOTP, Aegis, Google Authenticator…) ou saisissez la clé.',
    key: 'Clé :', otpauth: 'Lien otpauth', codeLabel: 'Code à 6 chiffres affiché par l’application', validate: 'Valider',
    patientHint: 'Patients : sans application, vous pouvez <signin>vous connecter</signin> avec un code reçu par e-mail.',
  },
  invitation: { title: 'Invitation', activate: 'Activer votre compte', incomplete: 'Ce lien d’invitation est incomplet.', choose: 'Choisir ce mot de passe' },
  reset: {
    title: 'Nouveau mot de passe', incomplete: 'Ce lien est incomplet.', done: 'Mot de passe changé ; toutes vos sessions ont été fermées.',
    change: 'Changer le mot de passe',
  },
  forgot: { title: 'Mot de passe oublié', done: 'Si un compte existe à cette adresse, un lien valable 30 minutes vient d’y être envoyé.', send: 'Envoyer le lien' },
  shell: {
    patientSpace: 'Espace patient', role: 'Rôle : {{role}}', logout: 'Se déconnecter', logoutAll: 'Se déconnecter partout',
    logoutRefused: 'Déconnexion refusée : {{error}}. Reconnectez-vous dans cet onglet pour fermer la session.',
  },
  staff: {
    searchTitle: 'Rechercher un patient', identifier: 'NIR ou identifiant', family: 'Nom de famille', birthdate: 'Date de naissance',
    search: 'Rechercher', oneCriterion: 'Indiquez au moins un critère.', noneFound: 'Aucun patient trouvé (ou aucun que votre rôle permet de voir).',
    name: 'Nom', birth: 'Naissance', id: 'Identifiant', open: 'Ouvrir', back: '← Recherche', gender: 'Sexe', results: 'Résultats',
    noResultsAccess: 'Votre rôle ne donne pas accès aux résultats de ce patient.', masked: 'Certaines données sont masquées pour votre rôle.',
  },
  breakGlass: {
    title: 'Accès refusé', outside: 'Ce patient n’est pas dans votre périmètre de soins ({{message}}).',
    explain: 'En cas d’urgence, vous pouvez ouvrir un accès temporaire « bris de glace ». Il est enregistré avec votre motif dans le journal d’accès, que le patient et le DPO peuvent lire.',
    reason: 'Motif (10 caractères au moins)', open: 'Ouvrir l’accès d’urgence',
  },
  fhir: {
    maskedTitle: 'Masqué pour votre rôle', masked: 'masqué', yes: 'oui', no: 'non', noResults: 'Aucun résultat.',
    date: 'Date', test: 'Examen', result: 'Résultat', status: 'Statut',
  },
  portal: {
    title: 'Mon dossier', results: 'Mes résultats', who: 'Qui a consulté mon dossier',
    hint: 'Chaque accès est inscrit dans un journal infalsifiable. Le reçu d’un accès se vérifie hors ligne (<code>cerbere audit verify-receipt</code>).',
    none: 'Aucun accès.', date: 'Date', actor: 'Qui', role: 'Rôle', action: 'Action', purpose: 'Motif', receipt: 'Reçu',
    breakGlass: 'Urgence (bris de glace)', download: 'télécharger', pending: 'en cours',
  },
  security: {
    title: 'Sécurité', intro: 'Alertes de la surveillance des accès et du serveur, et identifiants suspendus.',
    alerts: 'Alertes', filter: 'Afficher les alertes', noAlerts: 'Aucune alerte.', details: 'Détail', detailsOf: 'Détail de l’alerte « {{kind}} »',
    back: '← Alertes', host: 'Serveur (alerte de l’hôte)', credential: 'Identifiant', noCredential: 'aucun', actor: 'Acteur',
    severity: 'Gravité', kind: 'Type', state: 'État', summary: 'Résumé', first: 'Premier événement', last: 'Dernier événement',
    patientsLabel: 'Patients concernés', patients_one: '{{count, number}} patient', patients_other: '{{count, number}} patients',
    credentialState: 'État de l’identifiant : {{state}}',
    evidence: 'Preuves', evidenceHint: 'Positions des événements dans le journal d’accès (à vérifier avec cerbere audit verify).', noEvidence: 'Aucune position.',
    history: 'Historique', historyEntry: '{{state}} par {{by}}', noHistory: 'Aucun changement d’état.',
    timeline: 'Activité récente de l’acteur', timelineCaption: 'Derniers événements de l’acteur, du plus récent au plus ancien', noTimeline: 'Aucun événement.',
    position: 'Position', at: 'Date', action: 'Action', outcome: 'Issue', ip: 'Adresse IP', purpose: 'Finalité', token: 'Jeton',
    note: 'Note (facultative)', ack: 'Prendre en compte', close: 'Clore l’alerte', acked: 'Alerte prise en compte.', closed: 'Alerte close.',
    suspend: 'Suspendre l’identifiant', restore: 'Rétablir l’identifiant', suspendTitle: 'Suspendre l’identifiant : {{label}}', restoreTitle: 'Rétablir l’identifiant : {{label}}',
    reason: 'Motif (10 à 500 caractères)', reasonLength: 'Le motif doit compter de 10 à 500 caractères (actuellement {{count, number}}).',
    next: 'Continuer', edit: 'Modifier le motif',
    confirmSuspend: 'Confirmez-vous la suspension ? Toutes les requêtes de cet identifiant ({{label}}) seront refusées jusqu’à son rétablissement.',
    confirmRestore: 'Confirmez-vous le rétablissement ? Cet identifiant ({{label}}) pourra de nouveau accéder aux données selon son rôle.',
    suspended: 'Identifiant suspendu.', restored: 'Identifiant rétabli.',
    suspendedTitle: 'Identifiants suspendus', noSuspended: 'Aucun identifiant suspendu.', suspendedAt: 'Suspendu le', reasonCol: 'Motif',
    budget: 'Budget', budgetValue: '{{used, number}} / {{limit, number}} patients', alert: 'Alerte', actions: 'Actions', role: 'Rôle',
  },
  filter: { open: 'Ouvertes', acknowledged: 'Prises en compte', closed: 'Closes', all: 'Toutes' },
  words: {
    role: {
      service: 'Service (API)', reader: 'Lecture seule', dpo: 'DPO', auditor: 'Auditeur', system: 'Système', admin: 'Administrateur',
      receptionist: 'Accueil', lab_technician: 'Technicien de laboratoire', biologist: 'Biologiste', physician: 'Médecin',
      tenant_admin: 'Administrateur de l’établissement', patient: 'Patient',
    },
    kind: {
      unexplained: 'Accès inexpliqué', volume: 'Volume inhabituel', enumeration: 'Parcours de dossiers en série', context: 'Contexte inhabituel',
      auth: 'Échecs d’authentification', 'break-glass': 'Bris de glace', export: 'Export', canary: 'Dossier leurre consulté',
      budget: 'Budget de patients atteint',
      host: {
        listener: 'Nouveau port en écoute', process: 'Processus inconnu', egress: 'Trafic sortant inhabituel', cpu: 'Charge processeur anormale',
        integrity: 'Fichiers du serveur modifiés', outbound: 'Connexion sortante inconnue',
      },
    },
    severity: { low: 'Faible', medium: 'Moyenne', high: 'Élevée', critical: 'Critique' },
    state: { open: 'Ouverte', acknowledged: 'Prise en compte', closed: 'Close' },
    credentialState: { active: 'Actif', suspended: 'Suspendu', revoked: 'Révoqué' },
    credentialKind: { token: 'Jeton d’API', client: 'Client OAuth', user: 'Compte', patient: 'Compte patient' },
    action: {
      read: 'Lecture', vread: 'Lecture d’une version', search: 'Recherche', create: 'Création', update: 'Modification', patch: 'Modification partielle',
      delete: 'Suppression', history: 'Historique', export: 'Export', 'break-glass': 'Bris de glace', erase: 'Effacement', login: 'Connexion',
    },
    outcome: { success: 'Réussi', denied: 'Refusé', failure: 'Échec' },
    actorKind: { user: 'Utilisateur', token: 'Jeton d’API', client: 'Client OAuth', patient: 'Patient', system: 'Système', staff: 'Personnel' },
    gender: { male: 'Homme', female: 'Femme', other: 'Autre', unknown: 'Inconnu' },
    obsStatus: {
      registered: 'Enregistré', preliminary: 'Préliminaire', final: 'Validé', amended: 'Modifié', corrected: 'Corrigé',
      cancelled: 'Annulé', 'entered-in-error': 'Saisi par erreur', unknown: 'Inconnu',
    },
  },
};

/** The shape every language must have: the same keys, strings as leaves. */
export type Messages = Shape<typeof fr>;
type Shape<T> = { [K in keyof T]: T[K] extends string ? string : Shape<T[K]> };
