// Curated lists for the synthetic French patient generator (src/seed/synthetic.ts).
// Everything here is hand-picked, common, public-domain vocabulary: first names by birth era,
// frequent surnames (national and regional), towns with their real postal codes, street names.
// Nothing identifies a real person. Mutual insurer names are invented.

/** Surname pools by region; `general` is drawn from everywhere, the others boost local colour. */
export type Region = 'bzh' | 'corse' | 'alsace' | 'sud' | 'reunion' | 'antilles' | 'mayotte';

export interface Department {
  /** INSEE code as used in a NIR and in FINESS: '56', '2A', '971'... */
  code: string;
  name: string;
  /** Name with its French preposition and article: 'du Morbihan', "de l'Eure". */
  de: string;
  /** Landline zone (01..05) — 0 for overseas departments, which have their own 0590/0596/0594/0262/0269. */
  zone: 0 | 1 | 2 | 3 | 4 | 5;
  region?: Region;
  /** Name of the local primary health insurance fund (CPAM, or CGSS/CSS overseas). */
  fund?: string;
}

export const DEPARTMENTS: Record<string, Department> = Object.fromEntries(
  ([
    ['75', 'Paris', 'de Paris', 1],
    ['77', 'Seine-et-Marne', 'de Seine-et-Marne', 1],
    ['78', 'Yvelines', 'des Yvelines', 1],
    ['91', 'Essonne', "de l'Essonne", 1],
    ['92', 'Hauts-de-Seine', 'des Hauts-de-Seine', 1],
    ['93', 'Seine-Saint-Denis', 'de la Seine-Saint-Denis', 1],
    ['94', 'Val-de-Marne', 'du Val-de-Marne', 1],
    ['95', "Val-d'Oise", "du Val-d'Oise", 1],
    ['14', 'Calvados', 'du Calvados', 2],
    ['18', 'Cher', 'du Cher', 2],
    ['22', "Côtes-d'Armor", "des Côtes-d'Armor", 2, 'bzh'],
    ['27', 'Eure', "de l'Eure", 2],
    ['28', 'Eure-et-Loir', "d'Eure-et-Loir", 2],
    ['29', 'Finistère', 'du Finistère', 2, 'bzh'],
    ['35', 'Ille-et-Vilaine', "d'Ille-et-Vilaine", 2, 'bzh'],
    ['36', 'Indre', "de l'Indre", 2],
    ['37', 'Indre-et-Loire', "d'Indre-et-Loire", 2],
    ['41', 'Loir-et-Cher', 'de Loir-et-Cher', 2],
    ['44', 'Loire-Atlantique', 'de la Loire-Atlantique', 2],
    ['45', 'Loiret', 'du Loiret', 2],
    ['49', 'Maine-et-Loire', 'de Maine-et-Loire', 2],
    ['50', 'Manche', 'de la Manche', 2],
    ['53', 'Mayenne', 'de la Mayenne', 2],
    ['56', 'Morbihan', 'du Morbihan', 2, 'bzh'],
    ['61', 'Orne', "de l'Orne", 2],
    ['72', 'Sarthe', 'de la Sarthe', 2],
    ['76', 'Seine-Maritime', 'de la Seine-Maritime', 2],
    ['85', 'Vendée', 'de la Vendée', 2],
    ['10', 'Aube', "de l'Aube", 3],
    ['21', "Côte-d'Or", "de la Côte-d'Or", 3],
    ['25', 'Doubs', 'du Doubs', 3],
    ['51', 'Marne', 'de la Marne', 3],
    ['54', 'Meurthe-et-Moselle', 'de Meurthe-et-Moselle', 3],
    ['57', 'Moselle', 'de la Moselle', 3, 'alsace'],
    ['59', 'Nord', 'du Nord', 3],
    ['62', 'Pas-de-Calais', 'du Pas-de-Calais', 3],
    ['67', 'Bas-Rhin', 'du Bas-Rhin', 3, 'alsace'],
    ['68', 'Haut-Rhin', 'du Haut-Rhin', 3, 'alsace'],
    ['80', 'Somme', 'de la Somme', 3],
    ['06', 'Alpes-Maritimes', 'des Alpes-Maritimes', 4, 'sud'],
    ['13', 'Bouches-du-Rhône', 'des Bouches-du-Rhône', 4, 'sud'],
    ['26', 'Drôme', 'de la Drôme', 4],
    ['30', 'Gard', 'du Gard', 4, 'sud'],
    ['34', 'Hérault', "de l'Hérault", 4, 'sud'],
    ['38', 'Isère', "de l'Isère", 4],
    ['42', 'Loire', 'de la Loire', 4],
    ['43', 'Haute-Loire', 'de la Haute-Loire', 4],
    ['63', 'Puy-de-Dôme', 'du Puy-de-Dôme', 4],
    ['66', 'Pyrénées-Orientales', 'des Pyrénées-Orientales', 4, 'sud'],
    ['69', 'Rhône', 'du Rhône', 4],
    ['74', 'Haute-Savoie', 'de la Haute-Savoie', 4],
    ['83', 'Var', 'du Var', 4, 'sud'],
    ['84', 'Vaucluse', 'du Vaucluse', 4, 'sud'],
    ['2A', 'Corse-du-Sud', 'de la Corse-du-Sud', 4, 'corse'],
    ['2B', 'Haute-Corse', 'de la Haute-Corse', 4, 'corse'],
    ['17', 'Charente-Maritime', 'de la Charente-Maritime', 5],
    ['19', 'Corrèze', 'de la Corrèze', 5],
    ['24', 'Dordogne', 'de la Dordogne', 5],
    ['31', 'Haute-Garonne', 'de la Haute-Garonne', 5, 'sud'],
    ['33', 'Gironde', 'de la Gironde', 5, 'sud'],
    ['47', 'Lot-et-Garonne', 'de Lot-et-Garonne', 5],
    ['64', 'Pyrénées-Atlantiques', 'des Pyrénées-Atlantiques', 5, 'sud'],
    ['79', 'Deux-Sèvres', 'des Deux-Sèvres', 5],
    ['86', 'Vienne', 'de la Vienne', 5],
    ['87', 'Haute-Vienne', 'de la Haute-Vienne', 5],
    ['971', 'Guadeloupe', 'de la Guadeloupe', 0, 'antilles', 'CGSS de la Guadeloupe'],
    ['972', 'Martinique', 'de la Martinique', 0, 'antilles', 'CGSS de la Martinique'],
    ['973', 'Guyane', 'de la Guyane', 0, 'antilles', 'CGSS de la Guyane'],
    ['974', 'La Réunion', 'de La Réunion', 0, 'reunion', 'CGSS de La Réunion'],
    ['976', 'Mayotte', 'de Mayotte', 0, 'mayotte', 'CSS de Mayotte'],
  ] as Array<[string, string, string, Department['zone'], Region?, string?]>).map(([code, name, de, zone, region, fund]) => [
    code,
    { code, name, de, zone, region, fund: fund ?? `CPAM ${de}` },
  ]),
);

export interface City {
  name: string;
  /** Five-digit postal code, or a three-character prefix when `arrondissements` is set. */
  postalCode: string;
  dept: string;
  /** Relative frequency (roughly the population in thousands, boosted for the labs' own areas). */
  weight: number;
  /** Paris, Lyon, Marseille: postal code is prefix + 2-digit arrondissement (75001..75020). */
  arrondissements?: number;
}

// The demo labs sit in Brittany, Normandy and the Centre-Val de Loire: their departments weigh four
// times their population, Corsica twice (to keep 2A/2B common enough to be exercised).
const CATCHMENT = new Set(['56', '22', '27', '45', '41']);
const RAW_CITIES: Array<[string, string, string, number, number?]> = [
  // Morbihan
  ['Vannes', '56000', '56', 54], ['Lorient', '56100', '56', 57], ['Lanester', '56600', '56', 23], ['Ploemeur', '56270', '56', 18],
  ['Auray', '56400', '56', 14], ['Pontivy', '56300', '56', 15], ['Hennebont', '56700', '56', 16], ['Quiberon', '56170', '56', 5],
  ['Ploërmel', '56800', '56', 10], ['Séné', '56860', '56', 9], ['Guidel', '56520', '56', 12], ['Questembert', '56230', '56', 8],
  ['Carnac', '56340', '56', 4], ['Sarzeau', '56370', '56', 8],
  // Côtes-d'Armor
  ['Saint-Brieuc', '22000', '22', 44], ['Lannion', '22300', '22', 20], ['Dinan', '22100', '22', 15], ['Plérin', '22190', '22', 14],
  ['Lamballe-Armor', '22400', '22', 17], ['Loudéac', '22600', '22', 10], ['Guingamp', '22200', '22', 7], ['Perros-Guirec', '22700', '22', 7],
  ['Paimpol', '22500', '22', 7], ['Ploufragan', '22440', '22', 11], ['Trégueux', '22950', '22', 9],
  // Eure
  ['Évreux', '27000', '27', 47], ['Vernon', '27200', '27', 24], ['Louviers', '27400', '27', 18], ['Val-de-Reuil', '27100', '27', 13],
  ['Bernay', '27300', '27', 10], ['Pont-Audemer', '27500', '27', 9], ['Gisors', '27140', '27', 11], ['Les Andelys', '27700', '27', 8],
  ['Gaillon', '27600', '27', 7],
  // Loiret
  ['Orléans', '45000', '45', 117], ['Olivet', '45160', '45', 22], ['Fleury-les-Aubrais', '45400', '45', 21], ['Saint-Jean-de-Braye', '45800', '45', 21],
  ['Montargis', '45200', '45', 14], ['Gien', '45500', '45', 14], ['Pithiviers', '45300', '45', 9], ['Saint-Jean-de-la-Ruelle', '45140', '45', 16],
  ['Saran', '45770', '45', 16], ['Meung-sur-Loire', '45130', '45', 6],
  // Loir-et-Cher
  ['Blois', '41000', '41', 45], ['Vendôme', '41100', '41', 16], ['Romorantin-Lanthenay', '41200', '41', 17], ['Vineuil', '41350', '41', 8],
  ['Mer', '41500', '41', 6], ['Salbris', '41300', '41', 5], ['Montoire-sur-le-Loir', '41800', '41', 4], ['Saint-Aignan', '41110', '41', 3],
  // Corse
  ['Ajaccio', '20000', '2A', 72], ['Porto-Vecchio', '20137', '2A', 12], ['Propriano', '20110', '2A', 4], ['Sartène', '20100', '2A', 3],
  ['Bonifacio', '20169', '2A', 3], ['Bastia', '20200', '2B', 48], ['Corte', '20250', '2B', 8], ['Calvi', '20260', '2B', 6],
  ["L'Île-Rousse", '20220', '2B', 3], ['Borgo', '20290', '2B', 9], ['Biguglia', '20620', '2B', 8],
  // Île-de-France
  ['Paris', '750', '75', 2100, 20], ['Boulogne-Billancourt', '92100', '92', 120], ['Nanterre', '92000', '92', 96], ['Montreuil', '93100', '93', 110],
  ['Saint-Denis', '93200', '93', 113], ['Argenteuil', '95100', '95', 110], ['Créteil', '94000', '94', 92], ['Vitry-sur-Seine', '94400', '94', 95],
  ['Versailles', '78000', '78', 84], ['Évry-Courcouronnes', '91000', '91', 67], ['Meaux', '77100', '77', 56], ['Melun', '77000', '77', 41],
  // West and Centre
  ['Rennes', '35000', '35', 220], ['Brest', '29200', '29', 140], ['Quimper', '29000', '29', 63], ['Nantes', '44000', '44', 320],
  ['Saint-Nazaire', '44600', '44', 72], ['Angers', '49000', '49', 157], ['Le Mans', '72000', '72', 145], ['Laval', '53000', '53', 50],
  ['La Roche-sur-Yon', '85000', '85', 55], ['Caen', '14000', '14', 106], ['Rouen', '76000', '76', 114], ['Le Havre', '76600', '76', 166],
  ['Cherbourg-en-Cotentin', '50100', '50', 78], ['Alençon', '61000', '61', 26], ['Tours', '37000', '37', 137], ['Chartres', '28000', '28', 39],
  ['Bourges', '18000', '18', 64], ['Châteauroux', '36000', '36', 43],
  // North and East
  ['Lille', '59000', '59', 236], ['Roubaix', '59100', '59', 99], ['Arras', '62000', '62', 41], ['Amiens', '80000', '80', 134],
  ['Reims', '51100', '51', 180], ['Troyes', '10000', '10', 62], ['Metz', '57000', '57', 120], ['Nancy', '54000', '54', 105],
  ['Strasbourg', '67000', '67', 290], ['Mulhouse', '68100', '68', 108], ['Dijon', '21000', '21', 159], ['Besançon', '25000', '25', 119],
  // South-East
  ['Lyon', '690', '69', 522, 9], ['Villeurbanne', '69100', '69', 150], ['Saint-Étienne', '42000', '42', 174], ['Grenoble', '38000', '38', 158],
  ['Annecy', '74000', '74', 130], ['Clermont-Ferrand', '63000', '63', 147], ['Le Puy-en-Velay', '43000', '43', 19], ['Valence', '26000', '26', 65],
  ['Marseille', '130', '13', 870, 16], ['Aix-en-Provence', '13100', '13', 145], ['Toulon', '83000', '83', 180], ['Nice', '06000', '06', 342],
  ['Avignon', '84000', '84', 91], ['Montpellier', '34000', '34', 300], ['Nîmes', '30000', '30', 148], ['Perpignan', '66000', '66', 120],
  // South-West
  ['Limoges', '87000', '87', 130], ['Poitiers', '86000', '86', 90], ['Niort', '79000', '79', 59], ['La Rochelle', '17000', '17', 78],
  ['Bordeaux', '33000', '33', 260], ['Périgueux', '24000', '24', 30], ['Agen', '47000', '47', 33], ['Pau', '64000', '64', 76],
  ['Bayonne', '64100', '64', 52], ['Toulouse', '31000', '31', 500], ['Brive-la-Gaillarde', '19100', '19', 46],
  // Overseas
  ['Pointe-à-Pitre', '97110', '971', 15], ['Les Abymes', '97139', '971', 53], ['Fort-de-France', '97200', '972', 76], ['Le Lamentin', '97232', '972', 39],
  ['Cayenne', '97300', '973', 63], ['Saint-Denis', '97400', '974', 153], ['Saint-Pierre', '97410', '974', 85], ['Le Tampon', '97430', '974', 80],
  ['Mamoudzou', '97600', '976', 71],
];

export const CITIES: City[] = RAW_CITIES.map(([name, postalCode, dept, population, arrondissements]) => ({
  name,
  postalCode,
  dept,
  weight: population * (CATCHMENT.has(dept) ? 4 : dept === '2A' || dept === '2B' ? 2 : 1),
  arrondissements,
}));

/** Countries of birth for people born abroad: INSEE country code (the "99xxx" of a NIR) and weight. */
export const BIRTH_COUNTRIES: Array<[string, number]> = [
  ['352', 20], // Algérie
  ['350', 18], // Maroc
  ['139', 10], // Portugal
  ['351', 8], // Tunisie
  ['127', 5], // Italie
  ['134', 5], // Espagne
  ['341', 4], // Sénégal
  ['335', 3], // Mali
  ['326', 3], // Côte d'Ivoire
  ['208', 3], // Turquie
  ['243', 2], // Viêt Nam
  ['216', 2], // Chine
  ['109', 2], // Allemagne
  ['131', 2], // Belgique
  ['132', 1], // Royaume-Uni
];

// ---------------------------------------------------------------------------------------------
// First names by birth era (popular names of each period, INSEE-style), so that a 90-year-old is
// "Germaine" and a 6-year-old "Jade". Eras: <1945, 1945-1964, 1965-1984, 1985-2004, >=2005.

export const ERA_START_YEARS = [1945, 1965, 1985, 2005] as const;

export const MALE_NAMES: string[][] = [
  ['Jean', 'Pierre', 'André', 'Louis', 'René', 'Marcel', 'Roger', 'Robert', 'Henri', 'Georges', 'Maurice', 'Paul', 'Raymond',
    'Lucien', 'Joseph', 'Albert', 'Fernand', 'Gaston', 'Émile', 'Léon', 'Roland', 'Jacques', 'Bernard', 'Michel', 'Claude', 'Guy',
    'Yves', 'Marius', 'Francis', 'Gérard'],
  ['Jean-Pierre', 'Michel', 'Alain', 'Patrick', 'Philippe', 'Daniel', 'Bernard', 'Christian', 'Gérard', 'Jacques', 'Dominique',
    'Serge', 'Jean-Claude', 'Didier', 'Jean-Luc', 'Pascal', 'Thierry', 'Gilles', 'Jean-Marie', 'Jean-François', 'Joël', 'Hervé',
    'Denis', 'Bruno', 'Yves', 'Jean-Paul', 'Claude', 'Guy', 'André', 'Rémy'],
  ['Stéphane', 'Christophe', 'Frédéric', 'Laurent', 'Sébastien', 'Nicolas', 'David', 'Olivier', 'Éric', 'Jérôme', 'Cédric', 'Julien',
    'Vincent', 'Franck', 'Arnaud', 'Ludovic', 'Fabrice', 'Sylvain', 'Emmanuel', 'Mickaël', 'Loïc', 'Yannick', 'Grégory', 'Thierry',
    'Pascal', 'Jean-Christophe', 'Pierre-Yves', 'Gaël', 'Samir', 'Karim'],
  ['Thomas', 'Nicolas', 'Julien', 'Kévin', 'Alexandre', 'Maxime', 'Quentin', 'Antoine', 'Romain', 'Anthony', 'Guillaume', 'Florian',
    'Benjamin', 'Jérémy', 'Mathieu', 'Clément', 'Hugo', 'Lucas', 'Théo', 'Valentin', 'Dylan', 'Mehdi', 'Yanis', 'Corentin', 'Erwan',
    'Bastien', 'Adrien', 'Loïc', 'Jean-Baptiste', 'Rayan'],
  ['Gabriel', 'Léo', 'Raphaël', 'Louis', 'Arthur', 'Jules', 'Adam', 'Maël', 'Lucas', 'Hugo', 'Noah', 'Sacha', 'Nathan', 'Paul', 'Tom',
    'Ethan', 'Timéo', 'Mohamed', 'Aaron', 'Liam', 'Gaël', 'Nolan', 'Éthan', 'Axel', 'Côme', 'Noé', 'Malo', 'Elouan', 'Ayoub', 'Isaac'],
];

export const FEMALE_NAMES: string[][] = [
  ['Marie', 'Jeanne', 'Marguerite', 'Germaine', 'Louise', 'Yvonne', 'Madeleine', 'Suzanne', 'Marcelle', 'Simone', 'Denise', 'Paulette',
    'Odette', 'Lucienne', 'Andrée', 'Renée', 'Georgette', 'Hélène', 'Juliette', 'Raymonde', 'Thérèse', 'Jacqueline', 'Colette',
    'Geneviève', 'Yvette', 'Ginette', 'Marie-Thérèse', 'Antoinette', 'Berthe', 'Henriette'],
  ['Monique', 'Nicole', 'Françoise', 'Catherine', 'Martine', 'Christiane', 'Sylvie', 'Brigitte', 'Danielle', 'Chantal', 'Dominique',
    'Annie', 'Michèle', 'Évelyne', 'Marie-Claude', 'Josiane', 'Joëlle', 'Patricia', 'Christine', 'Isabelle', 'Nadine', 'Marie-France',
    'Véronique', 'Marie-Christine', 'Élisabeth', 'Colette', 'Jocelyne', 'Maryvonne', 'Bernadette', 'Anne-Marie'],
  ['Nathalie', 'Isabelle', 'Sandrine', 'Valérie', 'Stéphanie', 'Céline', 'Sophie', 'Laurence', 'Véronique', 'Christelle', 'Karine',
    'Aurélie', 'Virginie', 'Émilie', 'Séverine', 'Delphine', 'Caroline', 'Audrey', 'Hélène', 'Corinne', 'Anne-Sophie', 'Marie-Laure',
    'Élodie', 'Nadia', 'Gaëlle', 'Magali', 'Fatima', 'Angélique', 'Sabrina', 'Cécile'],
  ['Julie', 'Laura', 'Marine', 'Camille', 'Manon', 'Pauline', 'Sarah', 'Mélanie', 'Anaïs', 'Marion', 'Océane', 'Léa', 'Chloé', 'Émilie',
    'Justine', 'Morgane', 'Clara', 'Charlotte', 'Amandine', 'Lucie', 'Inès', 'Noémie', 'Mathilde', 'Maëlle', 'Jessica', 'Gwenaëlle',
    'Yasmine', 'Marie-Charlotte', 'Coralie', 'Margot'],
  ['Emma', 'Jade', 'Louise', 'Alice', 'Chloé', 'Lina', 'Léa', 'Rose', 'Anna', 'Mila', 'Ambre', 'Julia', 'Zoé', 'Inès', 'Mia', 'Léna',
    'Éloïse', 'Agathe', 'Romane', 'Lou', 'Juliette', 'Manon', 'Nina', 'Camille', 'Margaux', 'Louna', 'Capucine', 'Anaëlle', 'Thaïs',
    'Maëlys', 'Noémie'],
];

// ---------------------------------------------------------------------------------------------
// Surnames: the most frequent French surnames (roughly by frequency, first ones drawn more often),
// plus regional pools and names reflecting immigration, drawn uniformly.

export const SURNAMES: string[] = [
  'Martin', 'Bernard', 'Thomas', 'Petit', 'Robert', 'Richard', 'Durand', 'Dubois', 'Moreau', 'Laurent', 'Simon', 'Michel', 'Lefèvre',
  'Leroy', 'Roux', 'David', 'Bertrand', 'Morel', 'Fournier', 'Girard', 'Bonnet', 'Dupont', 'Lambert', 'Fontaine', 'Rousseau', 'Vincent',
  'Muller', 'Lefebvre', 'Faure', 'André', 'Mercier', 'Blanc', 'Guérin', 'Boyer', 'Garnier', 'Chevalier', 'François', 'Legrand',
  'Gauthier', 'Garcia', 'Perrin', 'Robin', 'Clément', 'Morin', 'Nicolas', 'Henry', 'Roussel', 'Mathieu', 'Gautier', 'Masson',
  'Marchand', 'Duval', 'Denis', 'Dumont', 'Marie', 'Lemaire', 'Noël', 'Meyer', 'Dufour', 'Meunier', 'Brun', 'Blanchard', 'Giraud',
  'Joly', 'Rivière', 'Lucas', 'Brunet', 'Gaillard', 'Barbier', 'Arnaud', 'Martinez', 'Gérard', 'Roche', 'Renard', 'Schmitt', 'Roy',
  'Leroux', 'Colin', 'Vidal', 'Caron', 'Picard', 'Roger', 'Fabre', 'Aubert', 'Lemoine', 'Renaud', 'Dumas', 'Lacroix', 'Olivier',
  'Philippe', 'Bourgeois', 'Pierre', 'Benoît', 'Rey', 'Leclerc', 'Rolland', 'Leclercq', 'Guillaume', 'Lecomte', 'Lopez', 'Jean',
  'Dupuis', 'Guillot', 'Hubert', 'Berger', 'Carpentier', 'Sanchez', 'Dupuy', 'Moulin', 'Louis', 'Deschamps', 'Huet', 'Vasseur', 'Perez',
  'Boucher', 'Fleury', 'Royer', 'Klein', 'Jacquet', 'Adam', 'Paris', 'Poirier', 'Marty', 'Aubry', 'Guyot', 'Carré', 'Charles',
  'Renault', 'Charpentier', 'Ménard', 'Maillard', 'Baron', 'Bertin', 'Bailly', 'Hervé', 'Schneider', 'Fernandez', 'Le Gall', 'Collet',
  'Léger', 'Bouvier', 'Julien', 'Prévost', 'Millet', 'Perrot', 'Daniel', 'Le Roux', 'Cousin', 'Germain', 'Breton', 'Besson', 'Langlois',
  'Rémy', 'Le Goff', 'Pelletier', 'Lévêque', 'Perrier', 'Leblanc', 'Barré', 'Lebrun', 'Marchal', 'Weber', 'Mallet', 'Hamon',
  'Boulanger', 'Jacob', 'Monnier', 'Michaud', 'Guichard', 'Gillet', 'Étienne', 'Poulain', 'Tessier', 'Chevallier', 'Collin', 'Chauvin',
  'Bouchet', 'Gay', 'Lemaître', 'Bénard', 'Maréchal', 'Humbert', 'Reynaud', 'Antoine', 'Perret', 'Barthélemy', 'Cordier', 'Pichon',
  'Lejeune', 'Gilbert', 'Lamy', 'Delaunay', 'Pasquier', 'Carlier', 'Laporte', 'Dufresne', 'Lecoq', 'Delmas', 'Chauveau', 'Bessière',
];

/** Surnames of families from elsewhere (West and North Africa, Asia, Southern and Eastern Europe). */
export const DIVERSE_SURNAMES: string[] = [
  "N'Diaye", 'Diallo', 'Traoré', 'Diop', 'Camara', 'Koné', 'Nguyen', 'Tran', 'Pham', 'Benali', 'Haddad', 'Mansouri', 'Bensaïd',
  'Belkacem', 'Bouaziz', 'Cherif', 'El Amrani', 'Ben Ahmed', 'Dos Santos', 'Ferreira', 'Pereira', 'Rodrigues', 'Da Silva', 'Gonçalves',
  'Fernandes', 'Rossi', 'Russo', 'Lévy', 'Cohen', 'Kowalski', 'Nowak', 'Yilmaz', 'Kaya', 'Demir', 'Chen', 'Wang', 'Petrović',
];

export const REGIONAL_SURNAMES: Record<Region, string[]> = {
  bzh: ['Le Gall', 'Le Goff', 'Le Roux', 'Le Bihan', 'Le Corre', 'Le Floch', 'Guillou', 'Tanguy', 'Kerbrat', 'Le Guen', 'Le Bris',
    'Morvan', 'Le Meur', 'Le Moal', 'Jaouen', 'Riou', 'Le Borgne', 'Le Gac', 'Quéré', 'Le Bras', 'Cadiou', 'Le Berre', 'Prigent',
    'Le Hir', 'Le Du', 'Kervella', 'Le Dantec', 'Le Cam', 'Le Calvez', 'Le Pape', 'Guégan', 'Le Naour', 'Even', 'Le Garrec', 'Le Lay',
    'Le Boulch', 'Le Quéré', 'Le Guennec', "L'Hostis", 'Le Hénaff'],
  corse: ['Santoni', 'Casanova', 'Leca', 'Filippi', 'Luciani', 'Pietri', 'Mattei', 'Albertini', 'Santini', 'Colonna', 'Ottaviani',
    'Giacomoni', 'Paoli', 'Poli', 'Mariani', 'Orsini', 'Antonini', 'Graziani', 'Cristofari', 'Peretti', 'Raffalli', 'Simeoni',
    'Versini', 'Vincentelli', 'Tomasi', 'Cesari', 'Battesti', 'Franceschi', 'Giudicelli', 'Agostini'],
  alsace: ['Muller', 'Schmitt', 'Meyer', 'Weber', 'Klein', 'Schneider', 'Fischer', 'Wagner', 'Hoffmann', 'Koch', 'Kieffer', 'Bauer',
    'Wolff', 'Zimmermann', 'Huber', 'Becker', 'Richert', 'Burger', 'Kuntz', 'Kremer'],
  sud: ['Garcia', 'Martinez', 'Lopez', 'Fernandez', 'Sanchez', 'Perez', 'Gonzalez', 'Rodriguez', 'Gomez', 'Ruiz', 'Fabre', 'Vidal',
    'Roux', 'Blanc', 'Arnaud', 'Rey', 'Marty', 'Bonnet', 'Sabatier', 'Espinasse'],
  reunion: ['Payet', 'Hoarau', 'Grondin', 'Fontaine', 'Técher', 'Robert', 'Rivière', 'Dijoux', 'Boyer', 'Maillot', 'Lebon', 'Turpin',
    'Hoareau', 'Nativel', 'Morel', 'Clain', 'Lauret', 'Ramassamy', 'Sautron', 'Mussard'],
  antilles: ['Jean-Louis', 'Marie-Sainte', 'Louis-Joseph', 'Bellance', 'Jean-Baptiste', 'Joseph', 'Alexandre', 'Théodose', 'Sylvestre',
    'Pierre-Louis', 'Cléry', 'Édouard', 'Jean-Charles', 'Calixte', 'Lubin', 'Saint-Éloi', 'Mathurin', 'Zamor', 'Belfort', 'Laguerre'],
  mayotte: ['Ahamada', 'Saïd', 'Abdallah', 'Madi', 'Soilihi', 'Ali', 'Attoumani', 'Ahmed', 'Houmadi', 'Combo', 'Issouf', 'Mohamed',
    'Anli', 'Boina', 'Chanfi', 'Youssouf', 'Daoud', 'Hamada', 'Mdallah', 'Ousseni'],
};

/** Share of people of a region carrying one of its regional surnames. */
export const REGIONAL_SHARE: Record<Region, number> = {
  bzh: 0.35, corse: 0.55, alsace: 0.35, sud: 0.2, reunion: 0.7, antilles: 0.7, mayotte: 0.85,
};

// ---------------------------------------------------------------------------------------------
// Addresses

/** Street types with weights (lower case, as written on French envelopes). */
export const STREET_TYPES: Array<[string, number]> = [
  ['rue', 55], ['avenue', 10], ['impasse', 8], ['allée', 7], ['chemin', 6], ['boulevard', 5], ['route', 4], ['place', 3],
  ['square', 1], ['quai', 1],
];

export const STREET_NAMES: string[] = [
  'de la République', 'Victor Hugo', 'Jean Jaurès', 'du Général de Gaulle', 'Pasteur', 'de la Gare', 'des Écoles', 'du Moulin',
  "de l'Église", 'Gambetta', 'Jules Ferry', 'des Tilleuls', 'du Stade', 'de Verdun', 'Émile Zola', 'de la Mairie', 'des Lilas',
  'du Château', 'de la Paix', 'Anatole France', 'Jean Moulin', 'de la Libération', 'du 8 Mai 1945', 'du 11 Novembre', 'Aristide Briand',
  'Georges Clemenceau', 'des Peupliers', 'des Acacias', 'du Port', 'de la Plage', 'des Marronniers', 'Pierre et Marie Curie',
  'Saint-Martin', 'du Commerce', 'des Rosiers', 'des Mimosas', 'Charles Péguy', 'Albert Camus', 'Simone Veil', 'Jacques Brel',
  'des Frères Lumière', 'Paul Bert', 'Voltaire', 'de la Fontaine', 'des Vignes', 'du Bois', 'des Prés', 'Berthelot',
  'du Maréchal Leclerc', 'de Strasbourg', 'des Hortensias', 'des Genêts', 'de la Croix Verte', "d'Estienne d'Orves", 'Lucie Aubrac',
];

export const ADDRESS_COMPLEMENTS: string[] = [
  'Appartement', 'Bâtiment', 'Résidence Les Tilleuls', 'Résidence du Parc', 'Résidence Les Érables', 'Escalier', 'Résidence Le Clos Fleuri',
];

export const LIEUX_DITS_BZH: string[] = [
  'Kerbiquet', 'Kergoff', 'Kervinio', 'Kerlann', 'Penhoët', 'Kerdréan', 'Le Rohic', 'Kerguen', 'Trévenec', 'Kermorvan', 'Ker Anna',
];
export const LIEUX_DITS: string[] = [
  'Le Bourg', 'La Grande Maison', 'Les Granges', 'La Croix Blanche', 'Le Petit Bois', 'La Ferme du Moulin', 'Les Hauts Champs',
  'La Borde', 'Le Hameau des Prés', 'La Vallée',
];

// ---------------------------------------------------------------------------------------------
// Organisations (invented names) and practitioner specialties

/** Invented mutual insurers: any resemblance to a real mutuelle is accidental. */
export const MUTUELLES: string[] = [
  'Mutuelle des Quatre Vents', 'Mutuelle Hermine et Goéland', 'Mutuelle Ligérienne de Prévoyance', 'Mutuelle des Rives de Sologne',
  'Mutuelle Solidaire du Val Normand', 'Mutuelle des Métiers du Granit', 'Mutuelle Familiale des Trois Clochers',
  'Mutuelle Interprofessionnelle Armor-Argoat', 'Mutuelle du Maquis et des Îles', 'Mutuelle des Agents Territoriaux du Bocage',
];

export const LAB_NAMES: string[] = [
  'des Trois Rivières', 'du Golfe', 'Val de Loire', 'de la Côte de Granit', 'des Deux Caps', 'du Pays des Abers', "de la Vallée de l'Eure",
  'Sologne Biologie', 'Océane', 'des Remparts',
];

export const SPECIALTIES: Array<[string, number]> = [
  ['Médecine générale', 70], ['Endocrinologie-diabétologie', 5], ['Néphrologie', 4], ['Cardiologie', 5], ['Gynécologie médicale', 4],
  ['Pédiatrie', 5], ['Hépato-gastro-entérologie', 3], ['Médecine interne', 2], ['Gériatrie', 2],
];
